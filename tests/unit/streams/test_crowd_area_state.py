from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citypulse.domain.area_state import SourceContribution
from citypulse.domain.comfort import ComfortLabel
from citypulse.domain.stages import Stage
from citypulse.domain.thresholds import ThresholdBook
from streams.crowd.area_state import build_area_state
from streams.crowd.comfort import ComfortCalibration, ComfortCutoffs
from streams.crowd.forecast import damped_steps
from streams.crowd.fusion import FusedCount, SourceReading, fuse_zone
from streams.crowd.tracker import AreaTracker

NOW = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)
BOOK = ThresholdBook()
DEFAULT = BOOK.resolve("POI014", None, NOW)
CALIBRATION = ComfortCalibration({}, {"POI014": ComfortCutoffs((1000.0, 2000.0, 3000.0))})


def fused(
    people: float, age_s: float = 30, stale: bool = False, label: ComfortLabel | None = None
) -> FusedCount:
    source = SourceContribution(
        source="telecom", people=people, weight=1.0, age_s=age_s, stale=stale
    )
    return FusedCount(
        people, (source,), NOW - timedelta(seconds=age_s), stale, official_label=label
    )


@pytest.mark.parametrize(
    ("fc", "last", "required", "stage", "stale", "comfort", "n_forecast"),
    [
        # 2,500 people on 1,000 m²: 2.5/m² is 주의 (caution); calibrated 약간 붐빔
        (fused(2500), None, (), "caution", False, "약간 붐빔", 2),
        # Seoul's own label is higher than the calibrated one: the higher wins
        (fused(500, label="보통"), None, (), "normal", False, "보통", 2),
        # stale: the stage holds at the last one, no comfort, no forecast
        (fused(500, age_s=1200, stale=True), Stage.ALERT, (), "alert", True, None, 0),
        # fresh fused data but its required telecom is 20 min old: stale
        (fused(500, age_s=1200), Stage.CAUTION, ("telecom",), "caution", True, None, 0),
        # fresh data may fall below the last stage
        (fused(500), Stage.SERIOUS, ("telecom",), "normal", False, "여유", 2),
    ],
)
def test_build_area_state(
    fc: FusedCount,
    last: Stage | None,
    required: tuple[str, ...],
    stage: str,
    stale: bool,
    comfort: str | None,
    n_forecast: int,
) -> None:
    history = [(NOW - timedelta(minutes=m), fc.people / 1000.0) for m in range(11)]
    state = build_area_state(
        scope="area",
        area_code="POI014",
        fused=fc,
        walkable_m2=1000.0,
        thresholds=DEFAULT,
        now=NOW,
        history=history,
        seq=7,
        last_stage=last,
        comfort=CALIBRATION,
        required_sources=required,  # type: ignore[arg-type]
    )
    assert (state.stage, state.stale, state.comfort_level) == (stage, stale, comfort)
    assert len(state.forecast) == n_forecast
    assert state.density_per_m2 == pytest.approx(fc.people / 1000.0)
    assert (state.seq, state.key, state.as_of) == (7, "POI014", fc.as_of)
    assert state.sources == fc.sources
    assert state.trend_per_min == (None if stale else pytest.approx(0.0))


@pytest.mark.parametrize(
    ("last", "stage"), [(None, "normal"), (Stage.CAUTION, "caution"), (Stage.SERIOUS, "serious")]
)
def test_implausible_density_is_flagged_not_clipped_and_holds_the_stage(
    last: Stage | None, stage: str
) -> None:
    history = [(NOW - timedelta(minutes=m), 2.0) for m in range(11)]
    state = build_area_state(
        scope="zone",
        area_code="POI014",
        zone_id="exit11",
        fused=fused(12000),
        walkable_m2=1000.0,
        thresholds=DEFAULT,
        now=NOW,
        history=history,
        last_stage=last,
    )
    assert (state.density_per_m2, state.density_plausible) == (12.0, False)
    assert state.stage == stage  # neither raised by the impossible number nor lowered
    assert state.implausible and "beyond packing" in state.implausible[0]
    assert (state.trend_per_min, state.trend_ready, state.forecast) == (None, False, ())
    assert state.comfort_level is None  # zones have no Seoul calibration
    assert state.key == "POI014/exit11"


def counter(count: float, at: datetime, cid: str = "c1", zone: str = "exit11") -> SourceReading:
    return SourceReading("zone_counter", cid, count, at, zone_id=zone)


def test_zone_tracker_rising_crowd_trend_forecast_and_seq() -> None:
    tracker = AreaTracker("POI014", walkable_m2=500.0, zone_id="exit11")
    assert tracker.update(NOW, DEFAULT) is None  # nothing reported yet
    states = []
    for m in range(11):  # +50 people (0.1/m²) a minute, refreshed twice per minute
        t = NOW + timedelta(minutes=m)
        tracker.observe(counter(500 + 50 * m, t))
        states.append(tracker.update(t, DEFAULT))
        states.append(tracker.update(t + timedelta(seconds=5), DEFAULT))
    last = states[-1]
    assert last is not None
    assert [s.seq for s in states if s] == list(range(1, 23))
    assert len(tracker.history) == 11  # one point per input time, not per refresh
    # no trend and no forecast until 3 points span 10 minutes
    assert [bool(s and s.trend_ready) for s in states] == [False] * 20 + [True] * 2
    assert all(s and not s.forecast and s.trend_per_min is None for s in states[:20])
    assert last.density_per_m2 == pytest.approx(2.0)
    assert last.trend_per_min == pytest.approx(0.1)
    expected = [2.0 + 0.1 * damped_steps(h) for h in (10, 30)]
    assert [f.density_per_m2 for f in last.forecast] == pytest.approx(expected)
    assert [f.stage for f in last.forecast] == ["caution", "alert"]
    assert last.stage == "caution"


def test_tracker_ignores_older_reading_and_bounds_memory() -> None:
    tracker = AreaTracker(
        "POI014", walkable_m2=500.0, zone_id="z", history_points=10, max_sources=3
    )
    assert tracker.observe(counter(100, NOW))
    assert not tracker.observe(counter(999, NOW - timedelta(seconds=1)))  # out of order
    for i in range(5):
        tracker.observe(counter(10, NOW + timedelta(seconds=i + 1), cid=f"x{i}"))
    assert len(tracker.latest) == 3
    assert ("zone_counter", "c1") not in tracker.latest  # the oldest silent one went
    flat = AreaTracker("POI014", walkable_m2=500.0, zone_id="z", history_points=12)
    for m in range(50):
        flat.observe(counter(100, NOW + timedelta(minutes=m)))
        flat.update(NOW + timedelta(minutes=m), DEFAULT)
    assert len(flat.history) == 12
    assert flat.forecasts.pending <= 256
    # a flat crowd: every forecast that came due (made from minute 10, when the trend
    # became ready, to minute 39) was exact
    assert flat.forecasts.scored(10) == 30
    assert flat.forecasts.mae(10) == pytest.approx(0.0)


def test_area_tracker_goes_stale_and_holds_its_stage() -> None:
    tracker = AreaTracker("POI014", walkable_m2=1000.0, required_sources=("telecom",))
    tracker.observe(
        SourceReading("telecom", "seoul", 3500.0, NOW, people_min=3400, people_max=3600)
    )
    fresh = tracker.update(NOW, DEFAULT)
    assert fresh is not None and (fresh.stage, fresh.stale, fresh.people_min) == (
        "alert",
        False,
        3400,
    )
    # the crowd leaves but the telecom feed goes silent: 20 minutes later still 경계, stale
    later = tracker.update(NOW + timedelta(minutes=20), DEFAULT)
    assert later is not None and (later.stage, later.stale, later.comfort_level) == (
        "alert",
        True,
        None,
    )


def test_area_tracker_lifts_area_with_zone_crush_and_wifi_vicinity() -> None:
    tracker = AreaTracker("POI014", walkable_m2=10000.0)
    tracker.observe(SourceReading("telecom", "seoul", 8000.0, NOW - timedelta(minutes=2)))
    tracker.observe(SourceReading("visitor_count", "V02Q", 1500.0, NOW))
    zone = fuse_zone([counter(7000, NOW)], NOW)
    assert zone is not None
    state = tracker.update(NOW, DEFAULT, zones={"exit11": zone})
    assert state is not None
    assert state.people == pytest.approx(8500.0)  # 7,000 in the zone + 1,500 near the sensor
    assert {c.source: c.weight for c in state.sources} == pytest.approx(
        {"telecom": 0.0, "zone_counter": 7000 / 8500, "visitor_count": 1500 / 8500}
    )


@pytest.mark.parametrize(
    ("offsets_s", "kept_s"),
    [
        ([], []),
        ([0], [0]),
        ([0, 9, 27], [27]),  # one 30-second slot: the newest input stands for it
        ([0, 9, 30, 75], [9, 30, 75]),
        ([0, 90, 36], [0, 90, 36]),  # a late input in an older slot is kept, not merged
        ([90, 90, 90], [90]),
        ([0, 15, 15, 180], [15, 180]),
    ],
)
def test_tracker_history_keeps_one_point_per_slot(offsets_s: list[int], kept_s: list[int]) -> None:
    tracker = AreaTracker("POI014", walkable_m2=500.0, zone_id="z")
    for s in offsets_s:
        tracker.history.remember(NOW + timedelta(seconds=s), float(s))
    assert [(t - NOW).total_seconds() for t, _ in tracker.history] == kept_s
    assert [v for _, v in tracker.history] == [float(s) for s in kept_s]


def test_state_carries_each_horizons_forecast_record() -> None:
    tracker = AreaTracker("POI014", walkable_m2=500.0, zone_id="z")
    records = []
    for m in range(45):  # +0.02/m² a minute, then a sudden drop the forecasts did not see
        people = 500 + 10 * m if m < 40 else 100
        tracker.observe(counter(people, NOW + timedelta(minutes=m)))
        state = tracker.update(NOW + timedelta(minutes=m), DEFAULT)
        assert state is not None
        records.append({f.horizon_min: (f.mae_per_m2, f.scored) for f in state.forecast})
    assert records[9] == {}  # no forecast before the trend is ready
    assert records[10] == {10: (None, 0), 30: (None, 0)}  # nothing has come due yet
    # forecasts made at minutes 10-29 (10 min) have come due by minute 39, none at 30 min
    assert records[39][10][1] == 20 and records[39][30][1] == 0
    ramp_error = records[39][10][0]
    assert ramp_error is not None and ramp_error < 0.1  # under half the 10-minute change
    after_drop = records[44][10][0]
    assert after_drop is not None and after_drop > ramp_error + 0.05  # the drop counts


@pytest.mark.parametrize(
    ("events", "unready_from", "ready_again"),
    [
        # (minute, counter) readings; the trend restarts when who is counted changes (b,
        # silent after minute 24, is stale past 3 minutes) ...
        ([(m, "a") for m in range(40)] + [(m, "b") for m in range(25)], 27, 37),
        # ... when a counter joins ...
        ([(m, "a") for m in range(40)] + [(m, "b") for m in range(20, 40)], 20, 30),
        # ... and after an outage longer than the stale horizon (3 counter minutes)
        ([(m, "a") for m in (*range(15), *range(19, 40))], 19, 29),
        # a short hole is no outage
        ([(m, "a") for m in (*range(15), *range(17, 40))], None, None),
    ],
)
def test_the_trend_waits_after_a_change_of_sources_or_an_outage(
    events: list[tuple[int, str]], unready_from: int | None, ready_again: int | None
) -> None:
    tracker = AreaTracker("POI014", walkable_m2=500.0, zone_id="z")
    ready: dict[int, bool] = {}
    for m in range(40):
        t = NOW + timedelta(minutes=m)
        for _, cid in [e for e in events if e[0] == m]:
            tracker.observe(counter(500 + 10 * m + (50 if cid == "b" else 0), t, cid=cid))
        state = tracker.update(t + timedelta(seconds=1), DEFAULT)
        if state is not None and not state.stale:
            ready[m] = state.trend_ready
    unready = [m for m, r in ready.items() if m >= 10 and not r]
    if unready_from is None:
        assert unready == []
    else:
        assert unready[0] == unready_from and unready[-1] == ready_again - 1


def test_a_required_source_never_heard_is_named_silent() -> None:
    # Zone counters report, Seoul's telecom estimate never has (a feed down since the
    # start): the area is stale, and says which source it lacks though none is listed.
    tracker = AreaTracker("POI014", walkable_m2=10000.0, required_sources=("telecom",))
    zone = fuse_zone([counter(700, NOW)], NOW)
    assert zone is not None
    state = tracker.update(NOW, DEFAULT, zones={"exit11": zone})
    assert state is not None and state.stale
    assert {c.source for c in state.sources} == {"zone_counter"}
    assert state.silent_sources == ("telecom",)
    # Once the estimate arrives the area is fresh and nothing is silent.
    tracker.observe(SourceReading("telecom", "seoul", 800.0, NOW))
    fresh = tracker.update(NOW, DEFAULT, zones={"exit11": zone})
    assert fresh is not None and (fresh.stale, fresh.silent_sources) == (False, ())
