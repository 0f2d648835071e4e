"""Plausibility of single readings, and how fusion and the tracker treat the implausible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citypulse.domain.thresholds import ThresholdBook
from streams.crowd.fusion import SourceReading, fuse_area, fuse_zone
from streams.crowd.plausibility import beyond_packing, jump, off_peers
from streams.crowd.tracker import AreaTracker

NOW = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)
DEFAULT = ThresholdBook().resolve("POI014", None, NOW)


def count(people: float, minutes_ago: float = 0, cid: str = "c1") -> SourceReading:
    return SourceReading("zone_counter", cid, people, NOW - timedelta(minutes=minutes_ago))


@pytest.mark.parametrize(
    ("people", "m2", "flagged"),
    [
        (1000, 100, False),  # 10/m²: the tightest people stand, still possible
        (1001, 100, True),
        (1e30, 100_000, True),
        (float("nan"), 100, True),
        (0, 100, False),
    ],
)
def test_beyond_packing(people: float, m2: float, flagged: bool) -> None:
    reason = beyond_packing(count(people), m2)
    assert (reason is not None) == flagged
    if flagged:
        assert reason is not None and "zone_counter:c1" in reason


@pytest.mark.parametrize(
    ("before", "after", "minutes", "flagged"),
    [
        (None, 900, 1, False),  # nothing to judge by
        (100, 300, 1, False),  # +1/m² in a minute on 200 m²: within the allowance
        (100, 700, 1, False),  # +3/m²: allowance 1 + 2 a minute
        (100, 701, 1, True),
        (700, 99, 1, True),  # falls count too: a counter reset to 0 is not a crowd leaving
        (100, 900, 2, False),  # +4/m² over two minutes: a crowd could
        (100, 1200, 2, True),
        (100, 2000, 10, False),
    ],
)
def test_jump_is_judged_against_time_since_the_last_plausible_reading(
    before: float | None, after: float, minutes: float, flagged: bool
) -> None:
    previous = None if before is None else count(before, minutes_ago=minutes)
    assert (jump(previous, count(after), 200.0) is not None) == flagged


@pytest.mark.parametrize(
    ("value", "peers", "flagged"),
    [
        (900, [200, 210], True),  # 4.5x the median and 3.5/m² apart
        (900, [200], False),  # one peer: no telling which is wrong
        (900, [200, 210, 950], True),  # the median of the others (210) decides
        (30, [5, 6], False),  # several-fold but a fraction of a person per m²
        (0, [600, 620], True),  # a dead counter among live ones
        (500, [200, 220], False),  # 2.4x: counters disagree that much at doors
        (900, [200, (210, 10)], False),  # the second peer is stale: one fresh peer left
    ],
)
def test_off_peers_needs_two_fresh_peers_agreeing(
    value: float, peers: list[float | tuple[float, float]], flagged: bool
) -> None:
    others = [
        count(p, cid=f"p{i}") if not isinstance(p, tuple) else count(p[0], p[1], f"p{i}")
        for i, p in enumerate(peers)
    ]
    reason = off_peers(count(value), others, 200.0, NOW)
    assert (reason is not None) == flagged


def test_fusion_leaves_implausible_readings_out_but_shows_them() -> None:
    readings = [count(200, cid="a"), count(220, cid="b"), count(5000, cid="c")]
    fused = fuse_zone(readings, NOW, implausible={("zone_counter", "c")})
    assert fused is not None and fused.plausible
    assert fused.people == pytest.approx(210)
    assert [(c.people, c.plausible, c.weight) for c in fused.sources] == [
        (200, True, 0.5),
        (220, True, 0.5),
        (5000, False, 0.0),
    ]
    assert fused.contributors == {("zone_counter", "a"), ("zone_counter", "b")}
    only_bad = fuse_zone([count(5000, cid="c")], NOW, implausible={("zone_counter", "c")})
    assert only_bad is not None and not only_bad.plausible and only_bad.people == 5000


def test_an_implausible_telecom_estimate_is_listed_not_counted() -> None:
    zone = fuse_zone([count(700)], NOW)
    assert zone is not None
    estimate = SourceReading("telecom", "seoul", 1e30, NOW)
    fused = fuse_area(estimate, {"z": zone}, NOW, telecom_plausible=False)
    assert fused is not None and fused.plausible and fused.people == 700
    telecom = next(c for c in fused.sources if c.source == "telecom")
    assert (telecom.people, telecom.weight, telecom.plausible) == (1e30, 0.0, False)
    alone = fuse_area(estimate, {}, NOW, telecom_plausible=False)
    assert alone is not None and not alone.plausible and alone.people == 1e30


@pytest.mark.parametrize("bad", [1e30, 2500.0])  # beyond packing; far off two peers
def test_tracker_state_shows_the_bad_counter_and_keeps_the_stage_of_the_good_ones(
    bad: float,
) -> None:
    tracker = AreaTracker("POI014", walkable_m2=200.0, zone_id="z")
    for cid, people in (("a", 400), ("b", 420), ("c", 410)):
        tracker.observe(count(people, cid=cid))
    tracker.observe(count(bad, cid="c"))
    state = tracker.update(NOW, DEFAULT)
    assert state is not None
    assert state.density_plausible and state.density_per_m2 == pytest.approx(2.05)
    assert state.stage == "caution"  # from the two plausible counters
    assert len(state.implausible) == 1 and "zone_counter:c" in state.implausible[0]
    assert [c.plausible for c in state.sources] == [True, True, False]


def test_tracker_with_nothing_plausible_holds_the_stage() -> None:
    tracker = AreaTracker("POI014", walkable_m2=200.0, zone_id="z")
    tracker.observe(count(500, minutes_ago=1))
    first = tracker.update(NOW - timedelta(minutes=1), DEFAULT)
    assert first is not None and first.stage == "caution"
    tracker.observe(count(1e30))
    state = tracker.update(NOW, DEFAULT)
    assert state is not None
    assert (state.density_plausible, state.stage, state.forecast) == (False, "caution", ())
    assert state.implausible and "beyond packing" in state.implausible[0]
    assert len(tracker.history) == 1  # the impossible point is not in the trend
    tracker.observe(count(510, minutes_ago=-1))  # sane again: judged by the last sane one
    back = tracker.update(NOW + timedelta(minutes=1), DEFAULT)
    assert back is not None and back.density_plausible and back.implausible == ()
