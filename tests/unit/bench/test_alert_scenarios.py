"""bench/alert_quality.py's scenario builder and evaluator on tiny cases: the figures it
prints come from these pieces, run through the worker's live state and alert path."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bench.alert_scenarios import (
    ZONE_ID,
    AreaSurge,
    ZoneCase,
    expected_at,
    first_at_ratio,
    inject_surge,
    interpolate,
    load_calendar,
    ramp_lead,
    replay,
    telecom_events,
    zone_events,
    zone_ramp,
)
from citypulse.domain.korea_time import KST
from sensors.registry import hotspots_by_code
from streams.calibration import CalibrationPolicy, fit_calibration
from streams.crowd.comfort import LabelledCount

AREA = "POI009"
HOTSPOTS = {AREA: hotspots_by_code()[AREA]}
START = datetime(2026, 6, 19, 18, 0, tzinfo=KST)  # a Friday evening
STEP = timedelta(minutes=5)


def test_a_30_minute_zone_ramp_is_warned_of_ten_minutes_before_serious() -> None:
    case = zone_ramp(AREA, START, 30, seed=3)
    assert case.crossing(5.0) == START + timedelta(minutes=80)  # 1 -> 7 over 30: 5 at +20
    result = replay(zone_events(case), START, START + timedelta(minutes=case.minutes), HOTSPOTS,
                    None)  # fmt: skip
    lead = ramp_lead(result, case)
    assert lead.forecast_min is not None and lead.forecast_min >= 10
    assert lead.warning_min is not None and lead.warning_min >= lead.forecast_min


@pytest.mark.parametrize("ramp", [30, 60])
def test_a_zone_ramp_gives_one_escalating_stage_alert_and_no_second_caution(ramp: int) -> None:
    """Through the worker's alert path: the rate of rise, which used to send a second
    주의 after the stage alert's, is folded into it; the forecast warning of 심각 is that
    alert's step to 경계 (it used to be a second 경계 beside the stage's own)."""
    case = zone_ramp(AREA, START, ramp, seed=1)
    result = replay(zone_events(case), START, START + timedelta(minutes=case.minutes), HOTSPOTS,
                    None)  # fmt: skip
    crowd = [(r.rule.value, r.severity.name) for r in result.crowd]
    assert ("rate_of_rise", "CAUTION") not in crowd
    # one alert, one raise per higher stage: 주의 (stage), 경계 (the warning), 심각 (stage)
    assert crowd == [("stage", "CAUTION"), ("forecast", "ALERT"), ("stage", "SERIOUS")]
    assert {r.dedup_key for r in result.crowd} == {f"{AREA}/{ZONE_ID}:stage"}
    lead = ramp_lead(result, case)  # the warning still counts as the warning of 심각
    assert lead.forecast_min is not None and lead.forecast_min >= 10


@pytest.mark.parametrize(
    ("knots", "silent"),
    [
        (((0.0, 1.7), (60.0, 1.8)), ()),  # counters switched on in a busy zone
        (((0.0, 1.3), (60.0, 1.5)), ((1, 20.0, 40.0),)),  # one counter drops out
        (((0.0, 1.2), (60.0, 1.6)), ((0, 20.0, 40.0), (1, 20.0, 40.0))),  # both: an outage
    ],
)
def test_quiet_zone_cases_raise_no_crowd_alert(
    knots: tuple[tuple[float, float], ...], silent: tuple[tuple[int, float, float], ...]
) -> None:
    case = ZoneCase(AREA, START, knots, (-0.3, 0.3), silent, seed=1)
    result = replay(zone_events(case), START, START + timedelta(minutes=60), HOTSPOTS, None)
    assert result.crowd == []
    outage = len(silent) == 2
    # An outage is the technicians' news. The case replays the zone's counters only, so
    # the area's telecom feed never reports and is the technicians' news too (a data gap
    # for the area itself, raised after the first minutes in every case).
    assert {r.key for r in result.technical} - {AREA} == (
        {f"{AREA}/{ZONE_ID}"} if outage else set()
    )


def test_interpolation_follows_the_usual_shape_between_samples() -> None:
    t0, mid, t1 = START, START + timedelta(hours=1), START + timedelta(hours=2)

    def usual(t: datetime) -> float:  # 1,000 -> 1,800 -> 2,000 people
        h = (t - t0) / timedelta(hours=1)
        return 1000.0 + 800.0 * h if h <= 1 else 1800.0 + 200.0 * (h - 1)

    pts = [(t0, 2000.0), (t1, 4000.0)]
    series = dict(interpolate(pts, STEP, timedelta(hours=3), usual))
    assert len(series) == 25
    # Twice the usual count at both ends: twice the usual shape between, not a line.
    assert series[mid] == pytest.approx(3600.0)
    assert dict(interpolate(pts, STEP, timedelta(hours=3)))[mid] == pytest.approx(3000.0)
    # Never beyond the recorded samples, whatever the shape does between them.
    peaky = dict(interpolate(pts, STEP, timedelta(hours=3), lambda t: 9e9 if t == mid else 1e3))
    assert max(peaky.values()) == 4000.0
    assert len(interpolate([(t0, 1.0), (t1, 1.0)], STEP, timedelta(hours=1))) == 2  # a gap


def test_an_area_at_three_times_its_normal_is_alerted_within_15_minutes() -> None:
    history = [
        LabelledCount(AREA, START - timedelta(days=d, hours=h), 2000.0 + 10 * d, "보통")
        for d in range(1, 8)
        for h in range(-6, 18)
    ]
    cal = fit_calibration(history, START - timedelta(hours=18), CalibrationPolicy())
    times = [START - timedelta(hours=2) + i * STEP for i in range(60)]
    series = [(t, 2000.0) for t in times]
    normal = {t: 2030.0 for t in times}
    surge = AreaSurge(AREA, START, ramp_min=30, factor=3.0)
    injected = inject_surge(series, surge, normal)
    danger = first_at_ratio(injected, normal, 3.0)
    assert danger == START + timedelta(minutes=30)
    result = replay(telecom_events(AREA, injected), times[0], times[-1], HOTSPOTS, cal, tick=STEP)
    first = result.first(AREA)
    assert first is not None and first.rule.value == "above_normal"
    assert START < first.at <= danger + timedelta(minutes=15)


def test_the_declared_crowds_come_from_the_calendar_with_their_sources(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    book = load_calendar(root / "bench" / "event_calendar.json")
    game_night = datetime(2026, 6, 12, 20, 0, tzinfo=KST)
    assert expected_at(book, "POI086", game_night) == 16744
    assert expected_at(book, "POI100", game_night) == 96000
    assert expected_at(book, AREA, game_night) == 0.0
    assert expected_at(book, "POI086", datetime(2026, 11, 1, tzinfo=KST)) == 0.0  # exclusive
    assert expected_at(None, "POI086", game_night) == 0.0
    bare = tmp_path / "calendar.json"
    bare.write_text(json.dumps({"events": [{
        "name": "x", "area_codes": ["POI086"], "starts_at": "2026-06-01T00:00:00+09:00",
        "ends_at": "2026-06-02T00:00:00+09:00", "expected_people": 10, "sources": [],
    }]}))  # fmt: skip
    with pytest.raises(ValueError, match="names no sources"):
        load_calendar(bare)
