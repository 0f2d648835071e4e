"""Entry points: simulate a scenario as event objects, or as wire bytes for fast publishing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sensors.events import CityEvent
from sensors.simulator.engine import City, CitySimulator
from sensors.simulator.records import MalformedPayload
from sensors.simulator.scenarios import Scenario

SimEvent = CityEvent | MalformedPayload


def simulate(
    scenario: Scenario,
    start: datetime,
    duration: timedelta,
    seed: int,
    city: City | None = None,
    run_id: str = "",
) -> Iterator[SimEvent]:
    """City events (and malformed payloads, in fault scenarios) in simulated-time order;
    `run_id` prefixes every event id (a drill's run)."""
    sim = CitySimulator(scenario, start, seed, city, run_id)
    for item in sim.items(duration):
        yield item if isinstance(item, MalformedPayload) else sim.renderer.event(item)


def simulate_encoded(
    scenario: Scenario,
    start: datetime,
    duration: timedelta,
    seed: int,
    city: City | None = None,
) -> Iterator[tuple[bytes | None, bytes]]:
    """(key, value) pairs byte-equal to (partition_key, encode_event) of `simulate`'s items."""
    sim = CitySimulator(scenario, start, seed, city)
    key, encode = sim.renderer.key, sim.renderer.encode
    for item in sim.items(duration):
        if isinstance(item, MalformedPayload):
            yield item.key, item.value
        else:
            yield key(item), encode(item)
