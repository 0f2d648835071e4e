"""The push to context brokers with stand-in brokers and a hand-turned clock: what each
round sends, batching, backoff, and that an outage loses no newest state."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from citypulse.domain.area_state import AreaState
from dashboard_api.opendata.broker_settings import BrokerPushSettings
from dashboard_api.opendata.brokers import BrokerRejected, BrokerUnavailable
from dashboard_api.opendata.push import BrokerPush, LiveEntities, PushMetrics, broker_push
from sensors.registry import hotspots_by_code


class StandIn:
    """A broker that keeps what it stored; `mode` says how it answers."""

    def __init__(self, name: str = "stand-in") -> None:
        self.name = name
        self.mode = "up"  # up | down | reject | hang
        self.calls: list[list[str]] = []
        self.held: dict[str, Mapping[str, Any]] = {}

    async def upsert(self, entities: Sequence[Mapping[str, Any]]) -> list[str]:
        self.calls.append([e["id"] for e in entities])
        if self.mode == "down":
            raise BrokerUnavailable("503")
        if self.mode == "reject":
            raise BrokerRejected("400")
        if self.mode == "hang":
            await asyncio.sleep(3600)
        self.held.update((e["id"], e) for e in entities)
        return []


class Counted(PushMetrics):
    def __init__(self) -> None:
        self.ok: dict[str, int] = {}
        self.failures: list[tuple[str, str]] = []
        self.waiting: dict[str, int] = {}

    def accepted(self, broker: str, n: int) -> None:
        self.ok[broker] = self.ok.get(broker, 0) + n

    def failed(self, broker: str, reason: str) -> None:
        self.failures.append((broker, reason))

    def pending(self, broker: str, n: int) -> None:
        self.waiting[broker] = n


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _entities(n: int, version: int = 0) -> dict[str, dict[str, Any]]:
    return {f"e{i}": {"id": f"e{i}", "type": "T", "v": version} for i in range(n)}


def _push(
    brokers: Sequence[Any], source: dict[str, dict[str, Any]], **kw: Any
) -> tuple[BrokerPush, Counted, Clock]:
    metrics, clock = Counted(), Clock()
    push = BrokerPush(brokers, lambda: source, metrics=metrics, clock=clock,
                      jitter=lambda: 1.0, **kw)  # fmt: skip
    return push, metrics, clock


async def test_rounds_send_in_batches_and_only_what_changed() -> None:
    broker, source = StandIn(), _entities(5)
    push, metrics, _ = _push([broker], source, batch_size=2)
    await push.push_once()
    assert broker.calls == [["e0", "e1"], ["e2", "e3"], ["e4"]]
    await push.push_once()
    assert len(broker.calls) == 3  # nothing changed, nothing sent
    source["e3"] = {**source["e3"], "v": 1}
    await push.push_once()
    assert broker.calls[3:] == [["e3"]]
    assert broker.held == source
    assert (metrics.ok, metrics.waiting) == ({"stand-in": 6}, {"stand-in": 0})


async def test_an_outage_backs_off_and_then_delivers_the_newest_state() -> None:
    broker, source = StandIn(), _entities(3)
    push, metrics, clock = _push([broker], source, backoff_base_s=2.0, backoff_max_s=5.0)
    await push.push_once()
    broker.mode = "down"
    for version in (1, 2):  # two newer states arrive while the broker is away
        source.update(_entities(3, version))
        clock.now += 10
        await push.push_once()
    assert metrics.failures == [("stand-in", "unavailable")] * 2
    assert metrics.waiting == {"stand-in": 3}
    calls = len(broker.calls)
    await push.push_once()  # still inside the backoff: no call at all
    assert len(broker.calls) == calls
    broker.mode = "up"
    clock.now += 4.0  # the second failure waits 2 × 2 s
    await push.push_once()
    assert broker.held == _entities(3, 2)  # the newest, none lost
    assert metrics.waiting == {"stand-in": 0}


async def test_backoff_doubles_and_is_capped() -> None:
    broker = StandIn()
    broker.mode = "down"
    push, _, clock = _push([broker], _entities(1), backoff_base_s=1.0, backoff_max_s=4.0)
    waits = []
    for _ in range(5):
        await push.push_once()
        waits.append(push.lanes[0].retry_at - clock.now)
        clock.now = push.lanes[0].retry_at
    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0]


async def test_one_broker_down_does_not_hold_back_another() -> None:
    down, up = StandIn("down"), StandIn("up")
    down.mode = "hang"
    source = _entities(2)
    push, metrics, _ = _push([down, up], source, timeout_s=0.05)
    await push.push_once()
    assert up.held == source and down.held == {}
    assert metrics.failures == [("down", "unavailable")]  # the hang timed out


async def test_a_rejected_batch_waits_for_its_entities_to_change() -> None:
    broker, source = StandIn(), _entities(2)
    broker.mode = "reject"
    push, metrics, _ = _push([broker], source)
    await push.push_once()
    await push.push_once()
    assert broker.calls == [["e0", "e1"]] and metrics.failures == [("stand-in", "rejected")]
    broker.mode = "up"
    source["e1"] = {**source["e1"], "v": 1}
    await push.push_once()
    assert broker.calls[1:] == [["e1"]]


async def test_a_failing_round_never_ends_the_task() -> None:
    calls = 0

    def broken() -> dict[str, dict[str, Any]]:
        nonlocal calls
        calls += 1
        raise RuntimeError("a bug")

    push = BrokerPush([StandIn()], broken, period_s=0.01)
    await push.start()
    await asyncio.sleep(0.1)
    assert push._task is not None and not push._task.done()
    await push.stop()
    assert calls >= 2


def _state(zone: str | None = None, people: float = 100.0) -> bytes:
    state = AreaState(
        scope="zone" if zone else "area", area_code="POI009", zone_id=zone,
        as_of=datetime(2026, 3, 20, 14, 25, tzinfo=UTC), people=people,
        walkable_m2=10_000.0, density_per_m2=people / 10_000, stage="normal", stage_ko="정상",
    )  # fmt: skip
    return state.model_dump_json().encode()


def test_live_entities_of_the_newest_states() -> None:
    latest = {"POI009": _state(), "POI009/exit-3": _state("exit-3"), "junk": b"{"}
    entities = LiveEntities(lambda: latest, hotspots_by_code())
    got = entities()
    assert sorted(got) == [
        "urn:ngsi-ld:CrowdFlowObserved:citypulse:POI009",
        "urn:ngsi-ld:CrowdFlowObserved:citypulse:POI009:exit-3",
        "urn:ngsi-ld:PointOfInterest:citypulse:POI009",
    ]
    latest["POI009"] = _state(people=250.0)
    again = entities()
    assert again["urn:ngsi-ld:PointOfInterest:citypulse:POI009"]["occupancy"] == 250
    assert again["urn:ngsi-ld:CrowdFlowObserved:citypulse:POI009"]["peopleCount"] == 250


def test_settings_decide_which_brokers_and_headers() -> None:
    client = httpx.AsyncClient()
    assert broker_push(BrokerPushSettings.model_construct(), dict, client) is None
    settings = BrokerPushSettings(
        v2_url="http://orion:1026/", ld_url="https://ld.example", token=SecretStr("s3"),
        headers={"Fiware-Service": "incheon"},
    )  # fmt: skip
    push = broker_push(settings, dict, client)
    assert push is not None
    v2, ld = (lane.broker for lane in push.lanes)
    assert (v2.name, ld.name) == ("ngsi-v2", "ngsi-ld")
    assert v2.url == "http://orion:1026/v2/op/update"  # type: ignore[attr-defined]
    assert v2.headers == {"Fiware-Service": "incheon", "Authorization": "Bearer s3"}  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="http"):
        BrokerPushSettings(v2_url="orion:1026")
