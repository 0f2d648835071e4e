"""The hub and its pacer without sockets: cursors, shared frames, a lagging client, resets,
alerts, heartbeats and resume. Ticks are driven by hand, one slot at a time."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from dashboard_api.live.client import Client
from dashboard_api.live.filters import LiveFilter
from dashboard_api.live.frames import OutFrame
from dashboard_api.live.hub import AreaStateHub
from dashboard_api.live.pacer import SLOTS, Pacing

DISTRICTS = {"POI001": "중구", "POI009": "종로구", "POI014": "종로구"}


def _state(area: str, stage: str = "normal", people: float = 0.0) -> bytes:
    body = {"area_code": area, "zone_id": None, "stage": stage, "people": people}
    return json.dumps(body).encode()


def _tick_all(hub: AreaStateHub, now: float = 0.0) -> None:
    for slot in range(SLOTS):
        hub.pacer.tick(slot, now)


def _take(client: Client) -> dict[str, Any] | None:
    """The frame handed to the client, as its sender would take it (None: nothing)."""
    frame = client._frame
    client._frame = None
    return None if frame is None else dict(json.loads(frame.text))


def _keys(frame: dict[str, Any] | None) -> list[str]:
    assert frame is not None
    return [i["state"]["area_code"] for i in frame["items"] if i["kind"] == "state"]


def _hub(*clients: dict[str, Any]) -> tuple[AreaStateHub, list[Client]]:
    hub = AreaStateHub("x", "y", DISTRICTS)
    subscribed = []
    for kw in clients:
        c = hub.subscribe(framed=True, snapshot=False, **kw)
        hub.snapshot(c)
        subscribed.append(c)
    return hub, subscribed


def test_publish_does_no_work_per_client_and_clients_get_deltas_from_their_cursor() -> None:
    hub, (a, b) = _hub({}, {})
    hub.publish("POI001", _state("POI001"))
    assert a._frame is None and a.cursor == 0  # nothing happens until the pacer's tick
    _tick_all(hub)
    fa, fb = _take(a), _take(b)
    assert fa == fb and _keys(fa) == ["POI001"] and fa is not None and fa["seq"] == 1
    assert a.cursor == b.cursor == 1
    _tick_all(hub)
    assert _take(a) is None  # up to date: no frame


def test_clients_of_one_slot_share_one_rendered_frame() -> None:
    hub, clients = _hub(*[{} for _ in range(SLOTS * 3)])
    hub.publish("POI001", _state("POI001"))
    frames = hub.pacer.tick(0)
    served = [c for c in clients if c._frame is not None]
    assert len(served) == 3 and frames.builds == 1
    assert served[0]._frame is served[1]._frame is served[2]._frame


def test_a_busy_client_keeps_its_cursor_and_catches_up_with_one_state_per_key() -> None:
    hub, (slow, fast) = _hub({}, {})
    for i in range(50):
        hub.publish("POI001", _state("POI001", people=i))
        hub.publish("POI009", _state("POI009", people=i))
        _tick_all(hub)
        _take(fast)  # the fast client's sender keeps up; the slow one never takes
    assert fast.cursor == 100 and slow.cursor == 2  # only its first frame was handed over
    assert _take(slow) is not None  # its sender finally takes the old frame ...
    _tick_all(hub)
    frame = _take(slow)
    assert _keys(frame) == ["POI001", "POI009"]  # ... and then gets only the newest
    assert frame is not None and [i["state"]["people"] for i in frame["items"]] == [49, 49]
    assert slow.conflated == 96 and hub.conflated_total() == 96
    hub.unsubscribe(slow)  # a counter: what a departed client lost still counts
    hub.unsubscribe(slow)  # twice (a close racing a disconnect) counts it once
    assert hub.conflated_total() == 96


def test_refilter_sends_a_reset_then_every_state_the_new_filter_accepts() -> None:
    hub, (c,) = _hub({"live_filter": LiveFilter(areas=frozenset({"POI001"}))})
    hub.publish("POI009", _state("POI009"))
    hub.publish("POI001", _state("POI001"))
    hub.publish("POI014", _state("POI014"))
    _tick_all(hub)
    assert _keys(_take(c)) == ["POI001"]
    hub.refilter(c, LiveFilter(districts=frozenset({"종로구"})))
    _tick_all(hub)
    frame = _take(c)
    assert frame is not None and frame["items"][0] == {"kind": "reset"}
    assert _keys(frame) == ["POI009", "POI014"]


def test_alert_events_reach_operators_only_conflated_per_alert() -> None:
    hub, (op, viewer) = _hub({"operator": True}, {})
    hub.publish_alert(7, b'{"kind":"alert","alert":{"id":7,"status":"open"}}')
    hub.publish_alert(7, b'{"kind":"alert","alert":{"id":7,"status":"acknowledged"}}')
    hub.publish("POI001", _state("POI001"))
    _tick_all(hub)
    frame = _take(op)
    assert frame is not None and frame["items"][0]["alert"]["status"] == "acknowledged"
    assert [i["kind"] for i in frame["items"]] == ["alert", "state"]
    assert [i["kind"] for i in (_take(viewer) or {})["items"]] == ["state"]
    assert hub.conflated_total() == 1 and hub.alert_events == 2


@pytest.mark.parametrize(
    ("framed", "quiet_s", "expected"),
    [
        (True, 14.9, None),
        (True, 15.0, {"type": "heartbeat", "seq": 0}),
        (False, 15.0, {"type": "heartbeat"}),
    ],
)
def test_heartbeat_after_a_quiet_spell(
    framed: bool, quiet_s: float, expected: dict[str, Any] | None
) -> None:
    hub = AreaStateHub("x", "y", DISTRICTS)
    c = hub.subscribe(framed=framed, snapshot=False)
    hub.snapshot(c)
    _tick_all(hub, now=c.last_frame_at + quiet_s)
    frame = _take(c)
    if frame is not None:
        frame.pop("ts")
    assert frame == expected


def test_ws_areas_first_frame_is_every_raw_state() -> None:
    hub = AreaStateHub("x", "y", DISTRICTS)
    hub.publish("POI001", _state("POI001"))
    hub.publish("POI009", _state("POI009"))
    c = hub.subscribe()
    _tick_all(hub)
    frame = _take(c)
    assert frame is not None and frame["type"] == "states"
    assert [s["area_code"] for s in frame["states"]] == ["POI001", "POI009"]


def test_resume_sends_what_changed_since_including_a_drop() -> None:
    hub = AreaStateHub("x", "y", DISTRICTS)
    hub.publish("POI001", _state("POI001", "alert"))
    hub.publish("POI009", _state("POI009", "alert"))
    hub.publish("POI009", _state("POI009", "normal"))  # while the client was away
    hub.publish("POI014", _state("POI014", "normal"))  # never at alert: not sent
    c = hub.subscribe(framed=True, live_filter=LiveFilter(min_stage=3), snapshot=False)
    items = hub.snapshot(c, since_seq=2)
    assert [json.loads(i)["state"]["area_code"] for i in items] == ["POI009"]
    assert c.cursor == 4
    fresh = hub.snapshot(c)
    assert [json.loads(i)["state"]["area_code"] for i in fresh] == ["POI001"]


def test_unsubscribed_clients_are_not_served() -> None:
    hub, (c,) = _hub({})
    hub.unsubscribe(c)
    hub.publish("POI001", _state("POI001"))
    _tick_all(hub)
    assert c._frame is None and not hub.clients


@pytest.mark.parametrize(
    ("clients", "interval_s"),
    [(0, 0.1), (500, 0.1), (2000, 0.1), (5000, 0.25), (10_000, 0.5), (20_000, 1.0)],
)
def test_interval_grows_with_clients(clients: int, interval_s: float) -> None:
    assert Pacing().interval_s(clients) == pytest.approx(interval_s)


async def test_client_is_busy_until_its_sender_asks_again() -> None:
    c = Client()
    waiting = asyncio.create_task(c.next_frame())
    await asyncio.sleep(0)
    assert not c.busy
    one, two = OutFrame("one"), OutFrame("two")
    c.hand(one)
    assert c.busy and await waiting is one
    assert c.busy  # being sent
    c.hand(two)
    assert await c.next_frame() is two


async def test_the_pacer_runs_on_its_own_once_a_client_joins() -> None:
    hub = AreaStateHub("x", "y", DISTRICTS)
    hub.pacer.pacing = Pacing(min_interval_s=0.02)
    c = hub.subscribe(framed=True, snapshot=False)
    hub.snapshot(c)
    hub.publish("POI001", _state("POI001"))
    try:
        frame = json.loads((await asyncio.wait_for(c.next_frame(), 2)).text)
        assert frame["seq"] == 1 and frame["type"] == "delta"
    finally:
        await hub.stop()
