from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from citypulse.domain.area_state import SourceKind
from sensors.events import EnvironmentReading, PopulationEstimate, ZoneCount
from streams.crowd.fusion import (
    FusedCount,
    SourceReading,
    freshness,
    fuse_area,
    fuse_zone,
    reading_from_population,
    reading_from_visitor_count,
    reading_from_zone_count,
)

NOW = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)


def reading(
    source: SourceKind, people: float, age_s: float, confidence: float = 1.0, sid: str = "s"
) -> SourceReading:
    return SourceReading(source, sid, people, NOW - timedelta(seconds=age_s), confidence)


@pytest.mark.parametrize(
    ("source", "age", "expected"),
    [
        ("zone_counter", 0, 1.0),
        ("zone_counter", 60, 1.0),
        ("zone_counter", 120, 0.5),
        ("zone_counter", 180, 0.25),
        ("telecom", 300, 1.0),
        ("telecom", 600, 0.5),
        ("visitor_count", 360, 0.25),
    ],
)
def test_freshness_halves_per_cadence_after_the_first(
    source: SourceKind, age: float, expected: float
) -> None:
    assert freshness(source, age) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("readings", "people", "weights", "stale"),
    [
        ([], None, None, None),
        ([reading("zone_counter", 400, 30)], 400.0, [1.0], False),
        # counter trusted twice as much as Wi-Fi: (2*400 + 1*700) / 3
        (
            [reading("zone_counter", 400, 30), reading("visitor_count", 700, 30)],
            500.0,
            [2 / 3, 1 / 3],
            False,
        ),
        # confidence scales the weight: 0.5 vs 1.0
        (
            [reading("zone_counter", 300, 0, 0.5, "a"), reading("zone_counter", 600, 0, 1.0, "b")],
            500.0,
            [1 / 3, 2 / 3],
            False,
        ),
        # a stale counter (4 min old) weighs nothing beside a fresh one
        (
            [reading("zone_counter", 900, 240, sid="a"), reading("zone_counter", 300, 10, sid="b")],
            300.0,
            [0.0, 1.0],
            False,
        ),
        # only stale readings: still a number, decayed weights, flagged stale
        (
            [
                reading("zone_counter", 900, 240, sid="a"),
                reading("zone_counter", 300, 300, sid="b"),
            ],
            (900 * 0.125 + 300 * 0.0625) / 0.1875,
            [2 / 3, 1 / 3],
            True,
        ),
        # every source reports zero confidence: equal weights
        (
            [reading("zone_counter", 100, 0, 0.0, "a"), reading("zone_counter", 300, 0, 0.0, "b")],
            200.0,
            [0.5, 0.5],
            False,
        ),
    ],
)
def test_fuse_zone(
    readings: list[SourceReading],
    people: float | None,
    weights: list[float] | None,
    stale: bool | None,
) -> None:
    fused = fuse_zone(readings, NOW)
    if people is None:
        assert fused is None
        return
    assert fused is not None
    assert fused.people == pytest.approx(people)
    assert [c.weight for c in fused.sources] == pytest.approx(weights)
    assert fused.stale is stale
    assert fused.as_of == max(r.event_time for r in readings)


def zone(people: float, stale: bool = False, source: SourceKind = "zone_counter") -> FusedCount:
    fused = fuse_zone([reading(source, people, 400 if stale else 10)], NOW)
    assert fused is not None
    return fused


TELECOM = SourceReading(
    "telecom",
    "seoul",
    5000.0,
    NOW - timedelta(seconds=120),
    people_min=4800,
    people_max=5200,
    official_label="보통",
)
OLD_TELECOM = SourceReading("telecom", "seoul", 5000.0, NOW - timedelta(minutes=20))


@pytest.mark.parametrize(
    ("telecom", "zones", "people", "mix", "stale", "label"),
    [
        (None, {}, None, None, None, None),
        # telecom alone decides and keeps its range and official label
        (TELECOM, {}, 5000.0, {"telecom": 1.0}, False, "보통"),
        # zones sum below the telecom total: telecom decides
        (
            TELECOM,
            {"a": zone(1000), "b": zone(2000)},
            5000.0,
            {"telecom": 1.0, "zone_counter": 0.0},
            False,
            "보통",
        ),
        # a crush in zones above the area estimate: the zone floor wins
        (
            TELECOM,
            {"a": zone(4000), "b": zone(2000, source="visitor_count")},
            6000.0,
            {"telecom": 0.0, "zone_counter": 4000 / 6000, "visitor_count": 2000 / 6000},
            False,
            None,
        ),
        # missing telecom: zones alone
        (None, {"a": zone(700)}, 700.0, {"zone_counter": 1.0}, False, None),
        # stale zones do not lift a fresh telecom count
        (TELECOM, {"a": zone(9000, stale=True)}, 5000.0, {"telecom": 1.0}, False, "보통"),
        # stale telecom, fresh zone below it: the max is conservative, not stale overall
        (OLD_TELECOM, {"a": zone(800)}, 5000.0, {"telecom": 1.0, "zone_counter": 0.0}, False, None),
        # everything stale: keep the last word, flagged stale
        (
            OLD_TELECOM,
            {"a": zone(9000, stale=True)},
            9000.0,
            {"telecom": 0.0, "zone_counter": 1.0},
            True,
            None,
        ),
    ],
)
def test_fuse_area(
    telecom: SourceReading | None,
    zones: dict[str, FusedCount],
    people: float | None,
    mix: dict[str, float] | None,
    stale: bool | None,
    label: str | None,
) -> None:
    fused = fuse_area(telecom, zones, NOW)
    if people is None:
        assert fused is None
        return
    assert fused is not None
    assert fused.people == pytest.approx(people)
    assert {c.source: c.weight for c in fused.sources} == pytest.approx(mix)
    assert fused.stale is stale
    assert fused.official_label == label


def test_readings_from_events_carry_source_ids_and_trust() -> None:
    base: dict[str, Any] = {"source": "test", "event_time": NOW, "ingest_time": NOW}
    est = PopulationEstimate(
        event_id="e1",
        area_code="POI014",
        people_min=90000,
        people_max=92000,
        congestion_level="붐빔",
        replaced=True,
        **base,
    )
    count = ZoneCount(
        event_id="e2",
        area_code="POI014",
        zone_id="exit11",
        counter_id="cctv-3",
        count=412,
        walkable_m2=800.0,
        confidence=0.8,
        **base,
    )
    env = EnvironmentReading(
        event_id="e3", sensor_id="V02Q1940043", area_code="POI014", visitor_count=57, **base
    )
    no_visits = EnvironmentReading(event_id="e4", sensor_id="V02Q1940043", **base)
    t = reading_from_population(est)
    assert (t.people, t.confidence, t.people_min, t.official_label) == (91000.0, 0.5, 90000, "붐빔")
    z = reading_from_zone_count(count)
    assert (z.source_id, z.zone_id, z.people, z.confidence) == ("cctv-3", "exit11", 412.0, 0.8)
    v = reading_from_visitor_count(env, zone_id="exit11")
    assert v is not None and (v.source, v.people, v.zone_id) == ("visitor_count", 57.0, "exit11")
    assert reading_from_visitor_count(no_visits) is None


@pytest.mark.parametrize("quiet_for_s", [0, 30, 60, 90, 120, 150, 179, 180])
@pytest.mark.parametrize(("quiet", "busy"), [(200.0, 450.0), (450.0, 200.0), (0.0, 300.0)])
def test_a_quiet_counter_holds_its_last_value_until_stale_so_the_mean_does_not_drift(
    quiet_for_s: float, quiet: float, busy: float
) -> None:
    readings = [
        reading("zone_counter", quiet, quiet_for_s, sid="quiet"),
        reading("zone_counter", busy, 5, sid="busy"),
    ]
    fused = fuse_zone(readings, NOW)
    assert fused is not None
    assert fused.people == pytest.approx((quiet + busy) / 2)  # full weight: no ramp
    assert fused.contributors == {("zone_counter", "quiet"), ("zone_counter", "busy")}


@pytest.mark.parametrize("quiet_for_s", [181, 240, 600, 3600])
def test_a_stale_counter_leaves_the_fusion_and_the_contributors(quiet_for_s: float) -> None:
    readings = [
        reading("zone_counter", 200, quiet_for_s, sid="quiet"),
        reading("zone_counter", 450, 5, sid="busy"),
    ]
    fused = fuse_zone(readings, NOW)
    assert fused is not None
    assert fused.people == pytest.approx(450)
    assert fused.contributors == {("zone_counter", "busy")}


def test_area_contributors_are_its_fresh_sources() -> None:
    z1 = fuse_zone([reading("zone_counter", 300, 10, sid="a")], NOW)
    z2 = fuse_zone([reading("zone_counter", 300, 600, sid="b")], NOW)  # stale zone
    assert z1 is not None and z2 is not None
    telecom = SourceReading("telecom", "seoul", 100.0, NOW - timedelta(seconds=60))
    fused = fuse_area(telecom, {"z1": z1, "z2": z2}, NOW)
    assert fused is not None
    assert fused.contributors == {("zone_counter", "a"), ("telecom", "seoul")}
