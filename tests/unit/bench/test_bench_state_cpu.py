"""bench/state_cpu.py times the worker's own state tick and the alert path it feeds."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bench import state_cpu
from bench.live_load import ZONES_PER_AREA
from sensors.events import decode_event, encode_event
from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor
from streams.live import LiveStates


def test_one_tick_builds_a_state_for_every_area_and_zone_and_alerts_see_each() -> None:
    run = state_cpu.run_once(warm_ticks=3, ticks=2)
    keys = len(hotspots_by_code()) * (1 + ZONES_PER_AREA)
    assert run.states == 2 * keys  # every key changed every tick, each sent once
    assert run.tick_s > 0 and run.wire_s > 0 and run.alerts_s > 0


def test_the_city_sends_only_events_the_worker_counts() -> None:
    """Every bench event is valid and folds (a dead letter would stop the bench), one per
    source a tick, so each tick changes every key."""
    city = state_cpu.City()
    processor, live = BatchProcessor(city.hotspots), LiveStates(city.hotspots)
    at = state_cpu.T0
    for tick in range(3):
        records = city.records(at, tick)
        result = processor.process(records, {}, at + timedelta(seconds=1))
        assert (len(result.dead), len(result.readings)) == (0, len(records))
        assert len(live.apply(result.events)) == len(city.hotspots) * (1 + ZONES_PER_AREA)
        at += timedelta(seconds=state_cpu.WARM_TICK_S)


def test_the_city_writes_events_as_the_producers_do() -> None:
    """The keys in encode_event's order (the kind first), those holding defaults left out,
    as bench/batch_cpu.py's records and the simulator's."""
    for rec in state_cpu.City().records(state_cpu.T0, 0)[:3]:
        assert rec.value is not None
        event = decode_event(rec.value)
        sent = [k for k, _ in json.loads(rec.value, object_pairs_hook=list)]
        wire = [k for k, _ in json.loads(encode_event(event), object_pairs_hook=list)]
        defaults = {"congestion_level", "replaced", "forecast", "confidence"}
        assert sent == [k for k in wire if k not in defaults]


def test_the_alert_path_sees_the_states_the_tick_built() -> None:
    """The outlet reads back what the producer would send: the same states, in order."""
    seen: list[object] = []

    class Path:
        def on_state(self, state: object, now: object) -> list[object]:
            seen.append(state)
            return []

    city = state_cpu.City()
    live = LiveStates(city.hotspots)
    result = BatchProcessor(city.hotspots).process(city.records(state_cpu.T0, 0), {}, state_cpu.T0)
    live.apply(result.events)
    now = state_cpu.T0 + timedelta(seconds=1)
    keys = sorted(live.keys(), key=lambda k: (k[0], k[1] or ""))
    states = [live.state(a, z, now) for a, z in keys]
    outlet = state_cpu.WireAndAlerts(Path(), lambda: now)  # type: ignore[arg-type]
    asyncio.run(outlet.send_states([s for s in states if s is not None]))
    assert seen == [s for s in states if s is not None] and outlet.states == len(seen)
