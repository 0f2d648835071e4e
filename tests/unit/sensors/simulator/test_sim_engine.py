import itertools
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest

from citypulse.domain.korea_time import KST
from sensors.events import (
    EnvironmentReading,
    PopulationEstimate,
    ZoneCount,
    decode_event,
    encode_event,
)
from sensors.simulator import normal_day, sensor_faults, simulate, simulate_encoded
from sensors.simulator.engine import CitySimulator, default_city
from sensors.simulator.records import MalformedPayload

START = datetime(2026, 6, 10, 8, 0, tzinfo=KST)
AREAS = frozenset({"POI004", "POI014", "POI054", "POI072"})
SMALL = normal_day().only(AREAS)


def _events(seed: int, minutes: int = 30) -> list[bytes]:
    return [v for _, v in simulate_encoded(SMALL, START, timedelta(minutes=minutes), seed)]


def test_same_seed_same_city() -> None:
    assert _events(7) == _events(7)


def test_other_seed_other_city() -> None:
    assert _events(7) != _events(8)


@pytest.mark.parametrize(
    ("kind", "device", "every"),
    [
        (PopulationEstimate, lambda e: e.area_code, timedelta(minutes=5)),
        (ZoneCount, lambda e: e.counter_id, timedelta(minutes=1)),
        (EnvironmentReading, lambda e: e.sensor_id, timedelta(minutes=2)),
    ],
)
def test_cadence_per_device(kind: type, device: object, every: timedelta) -> None:
    times: dict[str, list[datetime]] = defaultdict(list)
    for e in simulate(SMALL, START, timedelta(minutes=60), seed=1):
        if isinstance(e, kind) and not isinstance(e, MalformedPayload):
            times[device(e)].append(e.event_time)  # type: ignore[operator]
    assert times, f"no {kind.__name__}"
    for stamps in times.values():
        gaps = {b - a for a, b in itertools.pairwise(stamps)}
        assert gaps == {every}


def test_event_counts_of_one_hour() -> None:
    sim = CitySimulator(SMALL, START, 1)
    counts = Counter(e.kind for e in sim.emissions(timedelta(hours=1)))
    assert counts["population_estimate"] == 4 * 12
    assert counts["zone_count"] == len(sim.zones) * 60
    assert counts["environment_reading"] == len(sim.sensors) * 30
    assert {z.area_code for z in sim.zones} == AREAS
    assert {s.area_code for s in sim.sensors} <= AREAS


def test_event_time_order_and_kst() -> None:
    events = list(simulate(SMALL, START, timedelta(minutes=20), seed=3))
    assert all(not isinstance(e, MalformedPayload) for e in events)
    stamps = [e.event_time for e in events if not isinstance(e, MalformedPayload)]
    assert stamps == sorted(stamps)
    assert {s.utcoffset() for s in stamps} == {timedelta(hours=9)}


def test_every_hotspot_simulated() -> None:
    sim = CitySimulator(normal_day(), START, 1)
    assert len(sim.devices.areas) == 120
    assert min(Counter(z.area_code for z in sim.zones).values()) >= 1
    assert max(Counter(z.area_code for z in sim.zones).values()) <= 3
    assert all(100 <= z.walkable_m2 <= 5000 for z in sim.zones)
    assert len(sim.sensors) == 88  # real S-DoT positions inside hotspots


def test_telecom_range_brackets_people() -> None:
    for e in simulate(SMALL, START, timedelta(minutes=30), seed=2):
        if isinstance(e, PopulationEstimate):
            spread = (e.people_max - e.people_min) / e.people
            assert 0.05 <= spread <= 0.3


@pytest.mark.parametrize("scenario", [SMALL, sensor_faults()])
def test_fast_path_is_encode_event(scenario: object) -> None:
    start, duration = START, timedelta(minutes=40)
    objects = list(simulate(scenario, start, duration, seed=5))  # type: ignore[arg-type]
    pairs = list(simulate_encoded(scenario, start, duration, seed=5))  # type: ignore[arg-type]
    assert len(objects) == len(pairs)
    for item, (key, value) in zip(objects, pairs, strict=True):
        if isinstance(item, MalformedPayload):
            assert (key, value) == (item.key, item.value)
        else:
            assert value == encode_event(item)
            assert key == item.partition_key().encode()
            assert decode_event(value) == item


def test_default_city_zone_shares_keep_normal_day_calm() -> None:
    city = default_city()
    for z in city.zones:
        profile = city.calibration.profile(z.area_code)
        peak = profile.level * max(max(profile.weekday), max(profile.weekend))
        assert peak * z.share / z.walkable_m2 <= 1.2 + 1e-9
