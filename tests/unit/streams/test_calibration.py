"""The per-area calibration: who is calibrated, the normals and shape, held-out scores,
the stored form, and the live path labelling comfort with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citypulse.domain.area_state import AreaState
from citypulse.domain.comfort import ComfortLabel
from citypulse.domain.korea_time import KST
from sensors.events import PopulationEstimate
from sensors.registry import hotspots_by_code
from streams.calibration import (
    UNCALIBRATED,
    CalibrationPolicy,
    fit_calibration,
    model_from_json,
    model_to_json,
    score_comfort,
    with_calibration,
)
from streams.crowd.comfort import ComfortCalibration, ComfortCutoffs, LabelledCount
from streams.live import LiveStates

HOTSPOTS = hotspots_by_code()
START = datetime(2026, 6, 1, 0, 0, tzinfo=KST)  # a Monday
CUTS = (1000.0, 2000.0, 3000.0)
LADDER: list[tuple[float, ComfortLabel]] = [(500, "여유"), (1500, "보통"), (2500, "약간 붐빔"),
                                            (3500, "붐빔")]  # fmt: skip


def _history(area: str, days: int, scale: float = 1.0) -> list[LabelledCount]:
    """Every hour of `days` weekdays: the four labels in turn, counts on a fixed ladder."""
    out = []
    for d in range(days):
        for h in range(24):
            people, label = LADDER[(d + h) % 4]
            at = START + timedelta(days=d, hours=h)
            if at.weekday() < 5:
                out.append(LabelledCount(area, at, people * scale, label))
    return out


@pytest.mark.parametrize(
    ("days", "min_days", "calibrated"),
    [(5, 3, True), (2, 3, False), (1, 1, True), (0, 1, False)],
)
def test_an_area_needs_enough_labelled_days(days: int, min_days: int, calibrated: bool) -> None:
    rows = _history("POI009", days)
    cal = fit_calibration(rows, START + timedelta(days=7), CalibrationPolicy(min_days=min_days))
    assert ("POI009" in cal.calibrated) is calibrated
    assert cal.source("POI009") == ("calibration" if calibrated else UNCALIBRATED)
    assert (cal.comfort_for("POI009") is not None) is calibrated


@pytest.mark.parametrize(
    ("people", "label"),
    [(400.0, "여유"), (1400.0, "보통"), (2600.0, "약간 붐빔"), (9000.0, "붐빔")],
)
def test_fitted_cutoffs_split_the_ladder(people: float, label: str) -> None:
    cal = fit_calibration(_history("POI009", 5), START + timedelta(days=5))
    assert cal.comfort.label("POI009", people, START + timedelta(days=2, hours=10)) == label


def test_holdout_scores_the_newest_day_with_a_fit_that_never_saw_it() -> None:
    rows = _history("POI009", 5)
    cal = fit_calibration(rows, START + timedelta(days=5), CalibrationPolicy(min_days=2))
    newest = [r for r in rows if r.at.date() == max(r.at.date() for r in rows)]
    assert cal.holdout["rows"] == len(newest)
    assert cal.holdout["agreement"] == 1.0  # the ladder never moves
    assert cal.span_from == min(r.at for r in rows)
    assert cal.span_to == max(r.at for r in rows)


def test_score_comfort_kappa_is_zero_for_a_constant_guess() -> None:
    rows = _history("POI009", 4)
    everything_busy = ComfortCalibration({}, {"POI009": ComfortCutoffs((0.0, 0.0, 0.0))})
    score = score_comfort(everything_busy, rows)
    assert score.scored == len(rows)
    assert score.kappa == pytest.approx(0.0)
    assert score.agreement == pytest.approx(0.25)


def test_normals_and_shape_follow_the_hour() -> None:
    rows = [
        LabelledCount("POI009", START + timedelta(days=d, hours=h), 100.0 * (h + 1) + d, "여유")
        for d in range(3)
        for h in range(24)
    ]
    cal = fit_calibration(rows, START + timedelta(days=3), CalibrationPolicy(min_rows=1))
    at = START + timedelta(days=3, hours=5)
    normal = cal.normal("POI009", at)
    assert normal is not None
    assert normal.mean == pytest.approx(601.0)
    assert normal.sd == pytest.approx(1.0)
    shape = cal.shape("POI009", at, 100.0)
    assert shape is not None
    assert shape.at(at) == pytest.approx(6.01)
    assert cal.shape("POI009", START.replace(day=6), 100.0) is None  # a Saturday: unseen


def test_the_stored_form_gives_the_same_labels_and_normals() -> None:
    cal = fit_calibration(_history("POI009", 5), START + timedelta(days=5))
    doc = model_to_json(cal)
    back = model_from_json(doc, fit_id=7, fitted_at=cal.fitted_at,
                           span=(cal.span_from, cal.span_to), rows=cal.rows,
                           holdout=cal.holdout)  # fmt: skip
    assert back.source("POI009") == "calibration:7"
    assert back.comfort.slots == cal.comfort.slots
    assert back.normals == cal.normals
    for people in (0.0, 999.0, 1001.0, 2999.0, 5000.0):
        at = START + timedelta(days=1, hours=3)
        assert back.comfort.label("POI009", people, at) == cal.comfort.label("POI009", people, at)


def _live_state(
    live: LiveStates, people: int, at: datetime
) -> tuple[str | None, str | None, float | None]:
    live.apply([PopulationEstimate(event_id=f"p{people}", source="test", event_time=at,
                                   ingest_time=at, area_code="POI009", people_min=people,
                                   people_max=people)])  # fmt: skip
    state = live.state("POI009", None, at)
    assert state is not None
    return state.comfort_level, state.comfort_source, state.normal_ratio


def test_the_live_path_labels_comfort_with_the_loaded_calibration() -> None:
    at = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # a Wednesday, 12:00 KST
    live = LiveStates(HOTSPOTS)
    # No label from Seoul and no calibration: nothing to say, and it says why.
    assert _live_state(live, 2500, at) == (None, UNCALIBRATED, None)
    low = fit_calibration(_history("POI009", 5), at)
    live.calibration = low
    level, source, ratio = _live_state(live, 2500, at + timedelta(seconds=1))
    assert (level, source) == ("약간 붐빔", "calibration")
    assert ratio is not None and ratio > 0
    # Refit on history where the same count is calm: the live label follows.
    live.calibration = fit_calibration(_history("POI009", 5, scale=4.0), at)
    assert _live_state(live, 2500, at + timedelta(seconds=2))[:2] == ("여유", "calibration")


def test_an_uncalibrated_area_keeps_seouls_label_and_says_so() -> None:
    at = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
    live = LiveStates(HOTSPOTS)
    live.calibration = fit_calibration(_history("POI010", 5), at)  # another area only
    live.apply([PopulationEstimate(event_id="x", source="test", event_time=at, ingest_time=at,
                                   area_code="POI009", people_min=10, people_max=10,
                                   congestion_level="보통")])  # fmt: skip
    state = live.state("POI009", None, at)
    assert state is not None
    assert (state.comfort_level, state.comfort_source) == ("보통", UNCALIBRATED)
    assert state.normal_people is None


@pytest.mark.parametrize(
    ("hour", "expected"),
    [
        (8, 100.0),  # seen: its own mean
        (10, 300.0),  # a third of the way from 08:00 (100) to 14:00 (700)
        (13, 600.0),
        (17, 600.0),  # 14:00 (700) to 08:00 next day (100), 3 of 18 hours on
        (2, 300.0),  # the same line past midnight: 12 of 18 hours on
    ],
)
def test_an_unseen_hour_lies_between_the_seen_ones(hour: int, expected: float) -> None:
    """A morning hour no weekday saw used to borrow 08:00's count unchanged, and the
    crowd of 11:00 then looked like three times its normal (bench/alert_quality.py)."""
    rows = [
        LabelledCount("POI009", START + timedelta(days=d, hours=h), people, "여유")
        for d in range(3)
        for h, people in ((8, 100.0), (14, 700.0))
    ]
    cal = fit_calibration(rows, START + timedelta(days=3), CalibrationPolicy(min_rows=1))
    normal = cal.normal("POI009", START + timedelta(days=3, hours=hour))
    assert normal is not None
    assert normal.mean == pytest.approx(expected)
    assert normal.samples == (3 if hour in (8, 14) else 0)


def test_the_normal_knows_the_most_held_around_its_hour() -> None:
    """Game nights: the slot's mean is between the empty and the full nights, its high is
    the full one, from this hour or up to two either side (day games, night games)."""
    rows = [
        LabelledCount("POI086", START + timedelta(days=d, hours=h), people, "보통")
        for d in range(4)
        for h, people in ((17, 1000.0), (18, 1000.0 if d % 2 else 11_000.0), (22, 900.0))
    ]
    cal = fit_calibration(rows, START + timedelta(days=4), CalibrationPolicy(min_rows=1))
    at17 = cal.normal("POI086", START + timedelta(days=4, hours=17))
    at18 = cal.normal("POI086", START + timedelta(days=4, hours=18))
    at20 = cal.normal("POI086", START + timedelta(days=4, hours=20))  # unseen: between
    at22 = cal.normal("POI086", START + timedelta(days=4, hours=22))  # 4 hours on
    assert at17 is not None and at18 is not None and at20 is not None and at22 is not None
    assert (at17.high, at18.high, at20.high) == (11_000.0, 11_000.0, 11_000.0)
    assert at22.high == 900.0  # 18:00 is four hours away: another part of the evening
    assert at18.mean == pytest.approx(6_000.0)
    doc = model_to_json(cal)
    old = {**doc, "normals": [n[:6] for n in doc["normals"]]}  # stored before `high`
    span = (cal.span_from, cal.span_to)
    back = model_from_json(
        old, fit_id=1, fitted_at=cal.fitted_at, span=span, rows=cal.rows, holdout={}
    )
    again = back.normal("POI086", START + timedelta(days=4, hours=18))
    assert again is not None and again.high == 0.0
    at = START + timedelta(days=4, hours=18)
    base = AreaState(
        scope="area", area_code="POI086", as_of=at, people=12_000.0, walkable_m2=1.0,
        density_per_m2=0.0, stage="normal", stage_ko="정상",
    )  # fmt: skip
    assert with_calibration(base, cal, at).normal_high == 11_000.0


def test_a_fit_on_later_history_does_not_speak_for_an_earlier_time() -> None:
    """A replay of an older recording into a stack calibrated on newer history: the
    normal describes the area as it became (the 2023 5-minute log against the 2026 fit
    raised 7 경계 at areas whose level shifted between the years), so the live path says
    `uncalibrated` before the fit's history began, and uses the fit from then on."""
    fit_at = START + timedelta(days=5)
    cal = fit_calibration(_history("POI009", 5), fit_at)
    assert cal.span_from is not None
    live = LiveStates(HOTSPOTS, calibration=cal)
    before = cal.span_from - timedelta(days=3 * 365)
    later = START + timedelta(days=9, hours=12)  # a Wednesday after the fit
    assert not cal.covers(before) and cal.covers(later)
    assert cal.normal("POI009", before) is None and cal.shape("POI009", before, 100.0) is None
    assert cal.label("POI009", 2500, before) is None
    assert _live_state(live, 2500, before) == (None, UNCALIBRATED, None)
    level, source, ratio = _live_state(live, 2500, later)
    assert (level, source) == ("약간 붐빔", "calibration") and ratio is not None
    now = live.state("POI009", None, later)
    assert now is not None and with_calibration(now, cal, later).normal_people is not None
    assert with_calibration(now, cal, before).normal_people is None
