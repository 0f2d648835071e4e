from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from citypulse.domain.comfort import ComfortLabel
from citypulse.domain.korea_time import KST
from streams.crowd.comfort import (
    ComfortCutoffs,
    ComfortModelConfig,
    LabelledCount,
    day_type,
    fit_comfort_calibration,
    fixed_cutoff_calibration,
)

SEOUL_LOG = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "data"
    / "seoul"
    / "citydata_hourly_121"
    / "seoul_population_log.csv"
)


def kst(day: int, hour: int) -> datetime:
    return datetime(2026, 6, day, hour, 20, tzinfo=KST)


@pytest.mark.parametrize(
    ("at", "holidays", "expected"),
    [
        (kst(12, 13), frozenset(), "weekday"),  # Friday
        (kst(13, 13), frozenset(), "saturday"),
        (kst(14, 13), frozenset(), "sunday"),
        (datetime(2026, 6, 13, 16, 0, tzinfo=UTC), frozenset(), "sunday"),  # 01:00 KST Sunday
        (kst(3, 10), frozenset({date(2026, 6, 3)}), "sunday"),  # election day off
    ],
)
def test_day_type_reads_kst(at: datetime, holidays: frozenset[date], expected: str) -> None:
    assert day_type(at, holidays) == expected


@pytest.mark.parametrize(
    ("people", "label"),
    [
        (0, "여유"),
        (999, "여유"),
        (1000, "보통"),
        (2000, "약간 붐빔"),
        (2999, "약간 붐빔"),
        (3000, "붐빔"),
    ],
)
def test_cutoffs_label(people: float, label: ComfortLabel) -> None:
    assert ComfortCutoffs((1000, 2000, 3000)).label(people) == label


def test_cutoffs_must_not_decrease() -> None:
    with pytest.raises(ValueError):
        ComfortCutoffs((2000, 1000, 3000))


def lc(day: int, hour: int, people: float, label: ComfortLabel, area: str = "A") -> LabelledCount:
    return LabelledCount(area, kst(day, hour), people, label)


# Weekday 13:00: 보통 from 50k; Saturday 13:00: the same 60k is already 붐빔.
HISTORY = [
    lc(8, 13, 40000, "여유"),
    lc(9, 13, 55000, "보통"),
    lc(10, 13, 80000, "약간 붐빔"),
    lc(11, 13, 95000, "붐빔"),
    lc(8, 3, 20000, "여유"),
    lc(9, 3, 21000, "여유"),
    lc(6, 13, 40000, "보통"),
    lc(13, 13, 61000, "붐빔"),
]


@pytest.mark.parametrize(
    ("history", "area", "at", "people", "expected"),
    [
        ([], "A", kst(15, 13), 50000, None),  # no history at all
        (HISTORY, "B", kst(15, 13), 50000, None),  # unknown area
        (HISTORY, "A", kst(15, 13), 45000, "여유"),  # Monday
        (HISTORY, "A", kst(15, 13), 57000, "보통"),
        # 55k..80k leaves the weekday's 약간 붐빔 cutoff open: the area's (58k, Saturday's
        # 61k at 붐빔) places it
        (HISTORY, "A", kst(15, 13), 60000, "약간 붐빔"),
        (HISTORY, "A", kst(15, 13), 85000, "약간 붐빔"),  # 80k..95k split at 87.5k
        (HISTORY, "A", kst(15, 13), 99000, "붐빔"),
        (HISTORY, "A", kst(20, 13), 62000, "붐빔"),  # Saturday
        (HISTORY, "A", kst(20, 13), 39000, "여유"),  # Saturday, below anything labelled 보통
        # Monday 03:00: only 여유 seen at that hour; higher boundaries from the weekday fit
        (HISTORY, "A", kst(15, 3), 57000, "보통"),
        # a single 여유 point: levels never seen climb in 10 % steps above it
        ([lc(8, 13, 40000, "여유")], "A", kst(15, 13), 43999, "여유"),
        ([lc(8, 13, 40000, "여유")], "A", kst(15, 13), 44000, "보통"),
        ([lc(8, 13, 40000, "여유")], "A", kst(15, 13), 53241, "붐빔"),
    ],
)
def test_calibrated_label(
    history: list[LabelledCount],
    area: str,
    at: datetime,
    people: float,
    expected: ComfortLabel | None,
) -> None:
    model = fit_comfort_calibration(history, ComfortModelConfig(min_points=2))
    assert model.label(area, people, at) == expected


def test_where_an_hour_leaves_the_cutoff_open_the_day_type_places_it() -> None:
    """13:00 saw 10k 여유 and 50k 보통: any cutoff between fits it. The weekday's other
    hours put 보통 from 40k, so 35k at 13:00 is 여유 (the middle, 30k, said 보통)."""
    others = [lc(d, h, 39000, "여유") for d in (8, 9) for h in (10, 16)]
    others += [lc(d, h, 41000, "보통") for d in (8, 9) for h in (10, 16)]
    hour = [lc(8, 13, 10000, "여유"), lc(9, 13, 50000, "보통")]
    model = fit_comfort_calibration(others + hour, ComfortModelConfig(half_life_days=None))
    assert model.label("A", 35000, kst(15, 13)) == "여유"
    assert model.label("A", 45000, kst(15, 13)) == "보통"
    # where the day type's cutoff is outside what the hour allows, the hour's own counts win
    strict = [lc(8, 13, 45000, "여유"), lc(9, 13, 50000, "보통")]
    model = fit_comfort_calibration(others + strict, ComfortModelConfig(half_life_days=None))
    assert model.label("A", 44000, kst(15, 13)) == "여유"


def test_recent_days_outweigh_old_ones() -> None:
    # the cutoff drifted from 50k to 70k; a 60k count is judged by the recent days
    old = [lc(d, 13, 60000, "보통") for d in (1, 2)]
    recent = [lc(d, 13, 60000, "여유") for d in (24, 25)] + [lc(26, 13, 75000, "보통")]
    fresh = fit_comfort_calibration(old + recent, ComfortModelConfig(half_life_days=3.0))
    flat = fit_comfort_calibration(old * 3 + recent, ComfortModelConfig(half_life_days=None))
    assert fresh.label("A", 60000, kst(29, 13)) == "여유"
    assert flat.label("A", 60000, kst(29, 13)) == "보통"


def test_fixed_baseline_ignores_time_of_day() -> None:
    model = fixed_cutoff_calibration(HISTORY)
    assert model.label("A", 61000, kst(20, 13)) == model.label("A", 61000, kst(15, 13))


def read_log() -> list[LabelledCount]:
    if not SEOUL_LOG.exists():
        pytest.skip(f"Seoul hourly log not found at {SEOUL_LOG}")
    out: list[LabelledCount] = []
    with SEOUL_LOG.open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            if row["지역명"] == "강남역" and row["혼잡도"]:
                at = datetime.strptime(row["업데이트시간"], "%Y-%m-%d %H:%M").replace(tzinfo=KST)
                out.append(LabelledCount("강남역", at, float(row["중앙추정인구"]), row["혼잡도"]))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(
    ("at", "people", "expected"),
    [
        # from the log: 2026-06-13 (Sat) 13:10 61,000 붐빔, 06-11 (Thu) 08:55 61,000 보통,
        # 06-14 (Sun) 14:30 47,000 보통 while the same count on a weekday 08:00 is 여유
        (kst(20, 13), 61000, "붐빔"),
        (kst(18, 9), 61000, "보통"),
        (kst(21, 14), 47000, "보통"),
        (kst(18, 8), 47000, "여유"),
        (kst(18, 3), 21000, "여유"),
    ],
)
def test_gangnam_station_calibration_on_real_log(
    at: datetime, people: float, expected: ComfortLabel
) -> None:
    rows = [r for r in read_log() if r.at < kst(16, 0)]
    assert len(rows) == 87  # 강남역 rows up to 2026-06-15
    model = fit_comfort_calibration(rows)
    assert model.label("강남역", people, at) == expected
