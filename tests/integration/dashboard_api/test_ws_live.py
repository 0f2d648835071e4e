"""/ws/live against the real broker and database: snapshot, deltas, filters, resume,
conflation for a slow client, close codes for bad messages, the operator's alert events."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from sensors.registry import hotspots_by_code
from tests.integration.dashboard_api.conftest import ApiStack, area_state
from tests.integration.support import wait_for

HOTSPOTS = hotspots_by_code()


def _frame(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return frame


def _states(frame: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        i["state"]["area_code"]: i["state"]
        for i in frame.get("items", [])
        if i["kind"] == "state" and i["state"]["zone_id"] is None
    }


def _until(ws: ClientConnection, want: Any, timeout: float = 15) -> list[dict[str, Any]]:
    """Frames until `want(frame)` holds; all frames read."""
    frames, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        frames.append(_frame(ws, max(0.1, deadline - time.monotonic())))
        if want(frames[-1]):
            return frames
    raise AssertionError(f"not seen in {timeout}s: {frames[-3:]}")


def _wait_in_hub(api: ApiStack, area: str, stage: str) -> None:
    def there() -> bool:
        r = httpx.get(f"{api.base}/api/v1/areas/{area}", timeout=5).json()
        return bool(r["state"]) and r["state"]["stage"] == stage

    wait_for(there, 20, f"{area} at {stage} in the hub")


def test_snapshot_filters_deltas_and_resume(api_stack: ApiStack) -> None:
    api_stack.publish(area_state("POI009", 3.4, "alert"), area_state("POI014", 0.5, "normal"))
    _wait_in_hub(api_stack, "POI014", "normal")
    url = f"{api_stack.ws}/ws/live?areas=POI009,POI014&min_stage=attention&zones=false"
    with connect(url, open_timeout=10) as ws:
        snap = _frame(ws)
        assert snap["type"] == "snapshot" and snap["resumed"] is False
        assert set(_states(snap)) == {"POI009"}  # POI014 is below the minimum stage
        api_stack.publish(
            area_state("POI001", 2.5, "caution"),  # not in the area filter
            area_state("POI014", 2.5, "caution"),
        )
        frames = _until(ws, lambda f: "POI014" in _states(f))
        assert all("POI001" not in _states(f) for f in frames)
        assert frames[-1]["type"] == "delta"
        seq, epoch = frames[-1]["seq"], frames[-1]["epoch"]
        api_stack.publish(area_state("POI014", 0.4, "normal"))  # the drop is sent once
        dropped = _until(ws, lambda f: "POI014" in _states(f))[-1]
        assert _states(dropped)["POI014"]["stage"] == "normal"
        seq = dropped["seq"]

    api_stack.publish(area_state("POI009", 5.5, "serious"))  # while disconnected
    _wait_in_hub(api_stack, "POI009", "serious")
    with connect(f"{url}&since_seq={seq}&epoch={epoch}", open_timeout=10) as ws:
        resumed = _frame(ws)
    assert resumed["resumed"] is True
    assert {k: v["stage"] for k, v in _states(resumed).items()} == {"POI009": "serious"}
    with connect(f"{url}&since_seq={seq}&epoch=other", open_timeout=10) as ws:
        fresh = _frame(ws)  # another process's sequence numbers are not trusted
    assert fresh["resumed"] is False and set(_states(fresh)) == {"POI009"}


def test_resume_takes_back_a_stage_that_fell_below_the_minimum(api_stack: ApiStack) -> None:
    api_stack.publish(area_state("POI014", 3.4, "alert"))
    _wait_in_hub(api_stack, "POI014", "alert")
    url = f"{api_stack.ws}/ws/live?areas=POI014&min_stage=alert&zones=false"
    with connect(url, open_timeout=10) as ws:
        snap = _frame(ws)
    assert _states(snap)["POI014"]["stage"] == "alert"
    api_stack.publish(area_state("POI014", 0.5, "normal"))  # while disconnected
    _wait_in_hub(api_stack, "POI014", "normal")
    resume = f"{url}&since_seq={snap['seq']}&epoch={snap['epoch']}"
    with connect(resume, open_timeout=10) as ws:
        resumed = _frame(ws)
    assert resumed["resumed"] is True
    assert _states(resumed)["POI014"]["stage"] == "normal"  # not left showing "alert"
    with connect(url, open_timeout=10) as ws:
        assert "POI014" not in _states(_frame(ws))  # a fresh client is not sent it at all


def test_district_filter_heartbeat_and_resubscribe(api_stack: ApiStack) -> None:
    district = HOTSPOTS["POI009"].district
    other = next(c for c, h in HOTSPOTS.items() if h.district != district)
    api_stack.publish(area_state("POI009", 1.0, "normal"), area_state(other, 1.0, "normal"))
    _wait_in_hub(api_stack, other, "normal")
    with connect(f"{api_stack.ws}/ws/live?district={district}", open_timeout=10) as ws:
        snap = _states(_frame(ws))
        assert "POI009" in snap and other not in snap
        assert {HOTSPOTS[c].district for c in snap} == {district}
        beat = _until(ws, lambda f: f["type"] == "heartbeat", timeout=5)[-1]
        assert beat["seq"] >= 2
        ws.send(json.dumps({"type": "subscribe", "areas": [other]}))
        frame = _until(ws, lambda f: other in _states(f))[-1]
        assert frame["items"][0] == {"kind": "reset"} and set(_states(frame)) == {other}
        ws.send(json.dumps({"type": "ping"}))
        _until(ws, lambda f: {"kind": "pong"} in f.get("items", []), timeout=5)


@pytest.mark.parametrize(
    ("query", "message", "code"),
    [
        ("", b"\x00\x01", 1003),
        ("", "x" * 5000, 1009),
        ("", "{not json", 1008),
        ("", json.dumps({"type": "shout"}), 1008),
        ("", json.dumps({"type": "subscribe", "areas": ["POI999"]}), 1008),
        ("", json.dumps({"type": "subscribe", "min_stage": "panic"}), 1008),
        ("?district=Atlantis", None, 1008),
        ("?since_seq=-4", None, 1008),
        ("?token=forged.token.here", None, 1008),
    ],
)
def test_bad_messages_close_with_a_code(
    api_stack: ApiStack, query: str, message: str | bytes | None, code: int
) -> None:
    with (
        connect(f"{api_stack.ws}/ws/live{query}", open_timeout=10) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        if message is not None:
            _frame(ws)  # the snapshot
            ws.send(message)
        while True:
            _frame(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def test_slow_client_is_conflated_and_never_slows_a_fast_one(api_stack: ApiStack) -> None:
    areas, rounds, pad = ("POI009", "POI014", "POI001"), 400, "x" * 20_000
    with (
        connect(f"{api_stack.ws}/ws/live?zones=false", open_timeout=10, max_size=None) as slow,
        connect(f"{api_stack.ws}/ws/live?zones=false", open_timeout=10, max_size=None) as fast,
    ):
        _conflate(api_stack, slow, fast, areas, rounds, pad)


def _conflate(
    api_stack: ApiStack,
    slow: ClientConnection,
    fast: ClientConnection,
    areas: tuple[str, ...],
    rounds: int,
    pad: str,
) -> None:
    latest: dict[str, float] = {}
    done = threading.Event()

    def read_fast() -> None:
        while not done.is_set():
            try:
                frame = _frame(fast, timeout=30)
            except TimeoutError:
                return
            for code, s in _states(frame).items():
                latest[code] = s["people"]
            if all(latest.get(a) == rounds - 1 for a in areas):
                done.set()

    reader = threading.Thread(target=read_fast)
    reader.start()
    for i in range(rounds):  # the slow client reads nothing while this goes out
        api_stack.publish(
            *[{**area_state(a, 1.0, "normal"), "people": float(i), "pad": pad} for a in areas]
        )
    reader.join(timeout=60)
    assert done.is_set(), f"the fast client fell behind: {latest}"
    metrics = httpx.get(f"{api_stack.base}/metrics", timeout=5).text
    conflated = next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("citypulse_ws_conflated_total")
    )
    assert conflated > 0
    seen: dict[str, float] = {}
    items = 0
    while any(seen.get(a) != rounds - 1 for a in areas):  # the slow client catches up
        frame = _frame(slow, timeout=30)
        keys = [i["state"]["area_code"] for i in frame.get("items", []) if i["kind"] == "state"]
        assert len(keys) == len(set(keys)), keys  # at most one state per area in a frame
        items += len(keys)
        seen.update({c: s["people"] for c, s in _states(frame).items()})
    assert items < rounds * len(areas)  # older states were replaced, not queued


@contextlib.contextmanager
def _signed_in(api_stack: ApiStack, token: str, query: str = "") -> Iterator[ClientConnection]:
    with connect(f"{api_stack.ws}/ws/live?auth=1{query}", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        yield ws


@pytest.mark.parametrize(
    "first",
    [
        json.dumps({"type": "auth", "token": "forged.token.here"}),
        json.dumps({"type": "auth"}),
        json.dumps({"type": "auth", "token": "x", "role": "admin"}),
        json.dumps({"type": "ping"}),
        "{not json",
        None,  # nothing within the sign-in deadline
    ],
)
def test_a_connection_opened_to_sign_in_closes_without_a_valid_first_message(
    api_stack: ApiStack, first: str | None
) -> None:
    with (
        connect(f"{api_stack.ws}/ws/live?auth=1", open_timeout=10) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        if first is not None:
            ws.send(first)
        _frame(ws, timeout=15)  # no snapshot before sign-in
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_signed_in_once_a_second_auth_closes(api_stack: ApiStack) -> None:
    token = api_stack.token("operator")
    with _signed_in(api_stack, token) as op, pytest.raises(ConnectionClosed) as closed:
        assert _frame(op)["role"] == "operator"
        op.send(json.dumps({"type": "auth", "token": token}))
        while True:
            _frame(op)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_no_token_reaches_the_api_log_and_the_log_is_private(api_stack: ApiStack) -> None:
    token = api_stack.token("operator")
    with _signed_in(api_stack, token, "&zones=false") as op:
        assert _frame(op)["role"] == "operator"
    # An old page (or a hand-made URL) putting the token in the URL is refused, and the
    # access line that URL makes is cut before it is written.
    with (
        connect(f"{api_stack.ws}/ws/live?token={token}", open_timeout=10) as old,
        pytest.raises(ConnectionClosed),
    ):
        _frame(old)
    httpx.get(f"{api_stack.base}/api/v1/areas?access_token={token}", timeout=5)

    def logged() -> bool:
        return api_stack.log.read_text().count("?[redacted]") >= 2

    wait_for(logged, 10, "the refused URLs' access lines")
    text = api_stack.log.read_text()
    signature = token.rsplit(".", 1)[-1]
    assert token not in text and signature not in text
    assert "/ws/live?auth=1&zones=false" in text  # the signed-in session was logged, clean
    assert api_stack.log.stat().st_mode & 0o077 in (0o000, 0o040)  # 0600 or 0640


def test_operator_stream_adds_alert_events(api_stack: ApiStack) -> None:
    token = api_stack.token("operator")
    with (
        _signed_in(api_stack, token) as op,
        connect(f"{api_stack.ws}/ws/live", open_timeout=10) as viewer,
    ):
        assert _frame(op)["role"] == "operator" and _frame(viewer)["role"] == "viewer"
        with psycopg.connect(api_stack.settings.db_conninfo, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO alerts (dedup_key, area_code, rule, stage, status, density_per_m2, "
                "people, opened_at) VALUES ('POI009:stage', 'POI009', 'stage', 'alert', "
                "'open', 3.4, 34000, now()) RETURNING id"
            ).fetchone()
        assert row is not None
        alert_id = row[0]

        def alert_in(f: dict[str, Any]) -> bool:
            return any(
                i["kind"] == "alert" and i["alert"]["id"] == alert_id for i in f.get("items", [])
            )

        first = _until(op, alert_in)[-1]
        assert any(i.get("alert", {}).get("status") == "open" for i in first["items"])
        r = httpx.post(
            f"{api_stack.base}/api/v1/alerts/{alert_id}/acknowledge",
            headers={"Authorization": f"Bearer {token}"},
            json={"note": "on it"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        acked = _until(op, alert_in)[-1]
        assert [i["alert"]["status"] for i in acked["items"] if i["kind"] == "alert"] == [
            "acknowledged"
        ]
        frames = _until(viewer, lambda f: f["type"] == "heartbeat", timeout=5)
        assert not any(alert_in(f) for f in frames)
