"""LiveStates: a batch folds to the same trackers and changed keys as its events one by one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sensors.events import CityEvent, EnvironmentReading, PopulationEstimate, ZoneCount
from sensors.registry import hotspots_by_code
from streams.live import Key, LiveStates, PublishLedger

HOTSPOTS = hotspots_by_code()
T0 = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)


def _events(seed: int, n: int = 400) -> list[CityEvent]:
    """Out-of-order times with ties, two areas, zones with changing walkable area, telecom
    from two origins, visitor counts with and without a count."""
    rng = random.Random(seed)
    out: list[CityEvent] = []
    for i in range(n):
        at = T0 + timedelta(seconds=rng.randrange(0, 120, 5))  # coarse: many ties
        area = rng.choice(["POI009", "POI010"])
        common = {"event_id": f"e{i}", "event_time": at, "ingest_time": at, "area_code": area}
        kind = rng.randrange(3)
        if kind == 0:
            people = rng.randrange(1000, 5000)
            out.append(PopulationEstimate(source=rng.choice(["kt", "replay"]), people_min=people,
                                          people_max=people + 100, **common))  # fmt: skip
        elif kind == 1:
            out.append(ZoneCount(source="cctv", zone_id=rng.choice(["Z1", "Z2"]),
                                 counter_id=rng.choice(["c1", "c2"]), count=rng.randrange(500),
                                 walkable_m2=rng.choice([400.0, 500.0]), **common))  # fmt: skip
        else:
            count = rng.choice([None, rng.randrange(300)])
            out.append(EnvironmentReading(source="sdot", sensor_id=rng.choice(["s1", "s2"]),
                                          visitor_count=count, **common))  # fmt: skip
    return out


def _snapshot(live: LiveStates) -> dict[object, object]:
    trackers = {("area", k): t for k, t in live._areas.items()}
    trackers |= {("zone", k): t for k, t in live._zones.items()}
    return {k: (t.walkable_m2, dict(t.latest)) for k, t in trackers.items()}


@pytest.mark.parametrize("seed", range(8))
def test_a_batch_folds_like_its_events_one_by_one(seed: int) -> None:
    events = _events(seed)
    one_by_one, batched = LiveStates(HOTSPOTS), LiveStates(HOTSPOTS)
    changed_each: set[object] = set()
    for e in events:
        changed_each |= one_by_one.apply([e])
    assert batched.apply(events) == changed_each
    assert _snapshot(batched) == _snapshot(one_by_one)


@pytest.mark.parametrize(
    ("counts", "expected_people"),
    [
        ([10, 20], 20.0),  # same time: the later event wins
        ([10, None], 10.0),  # a reading without a visitor count never hides one with it
    ],
)
def test_ties_and_missing_visitor_counts(counts: list[int | None], expected_people: float) -> None:
    live = LiveStates(HOTSPOTS)
    common = {"source": "sdot", "event_time": T0, "ingest_time": T0, "area_code": "POI009"}
    events = [
        EnvironmentReading(event_id=f"v{i}", sensor_id="s1", visitor_count=c, **common)
        for i, c in enumerate(counts)
    ]
    assert live.apply(events) == {("POI009", None)}
    assert [r.people for r in live._areas["POI009"].latest.values()] == [expected_people]


def test_an_older_reading_changes_nothing() -> None:
    live = LiveStates(HOTSPOTS)
    new = ZoneCount(event_id="a", source="cctv", event_time=T0, ingest_time=T0, area_code="POI009",
                    zone_id="Z1", counter_id="c1", count=100, walkable_m2=500.0)  # fmt: skip
    old = new.model_copy(update={"event_id": "b", "event_time": T0 - timedelta(minutes=1)})
    assert live.apply([new]) == {("POI009", "Z1"), ("POI009", None)}
    assert live.apply([old]) == set()
    assert live.apply([]) == set()


@pytest.mark.parametrize(
    ("published", "at", "due"),
    [
        ({}, 10.0, {("A", None), ("A", "z1"), ("B", None)}),  # never sent: all due
        ({("A", None): 9.0}, 10.0, {("A", "z1"), ("B", None)}),  # sent 1 s ago: not yet
        ({("A", None): 5.5}, 10.0, {("A", None), ("A", "z1"), ("B", None)}),  # 4.5 s ago
        ({("A", None): 5.6, ("A", "z1"): 6.0, ("B", None): 9.9}, 10.0, set()),
    ],
)
def test_publish_ledger_due_only_what_was_not_sent_lately(
    published: dict[Key, float], at: float, due: set[Key]
) -> None:
    ledger = PublishLedger()
    for key, t in published.items():
        ledger.published([key], t)
    keys: list[Key] = [("A", None), ("A", "z1"), ("B", None)]
    assert ledger.due(keys, at, every=4.5) == due


def test_zone_counts_alone_give_the_area_a_stale_state_naming_the_silent_telecom() -> None:
    # Seoul's estimate has not come (a feed down since the start): the counted zones are
    # the area's floor, and the area reads as stale rather than having no state at all.
    live = LiveStates(HOTSPOTS)
    live.apply([ZoneCount(event_id="z", source="cctv", event_time=T0, ingest_time=T0,
                          area_code="POI009", zone_id="Z1", counter_id="c1", count=300,
                          walkable_m2=400.0)])  # fmt: skip
    area = live.state("POI009", None, T0 + timedelta(seconds=5))
    assert area is not None
    assert (area.stale, area.silent_sources, area.people) == (True, ("telecom",), 300.0)
    zone = live.state("POI009", "Z1", T0 + timedelta(seconds=5))
    assert zone is not None and not zone.stale
