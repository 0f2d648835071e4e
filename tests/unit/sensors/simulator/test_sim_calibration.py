from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from citypulse.domain.korea_time import KST
from sensors.registry import load_hotspots
from sensors.simulator.calibration import (
    HOURLY_LOG,
    kernel_shape,
    label_cuts,
    name_index,
    normalise_name,
    read_hourly_log,
)
from sensors.simulator.profile import day_type, load_calibration

DATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "seoul"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("잠실 관광특구", "잠실관광특구"),
        ("DDP(동대문디자인플라자)", "ddp동대문디자인플라자"),
        ("광화문·덕수궁", "광화문덕수궁"),
        ("  강남역 ", "강남역"),
        ("잠실롯데타워·석촌호수", "잠실롯데타워일대"),  # renamed hotspot
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2026, 6, 10), "weekday"),  # Wednesday
        (date(2026, 6, 13), "weekend"),  # Saturday
        (date(2026, 6, 14), "weekend"),
        (date(2026, 6, 3), "weekend"),  # local elections holiday
    ],
)
def test_day_type(day: date, kind: str) -> None:
    assert day_type(day) == kind


def test_shipped_calibration_covers_every_hotspot() -> None:
    calibration = load_calibration()
    codes = {h.code for h in load_hotspots()}
    assert set(calibration.profiles) == codes
    sources = [p.source for p in calibration.profiles.values()]
    assert sources.count("category_prior") == 2  # 서울광장 and 청와대 have no history
    assert calibration.profile("POI113").source == "category_prior"


@pytest.mark.parametrize(
    ("code", "level", "busier_hour", "quieter_hour"),
    [
        ("POI072", 53000.0, 14, 4),  # 여의도 offices: mid-afternoon far above 4 am
        ("POI014", 39000.0, 13, 3),  # 강남역
    ],
)
def test_fitted_level_and_daily_shape(
    code: str, level: float, busier_hour: int, quieter_hour: int
) -> None:
    p = load_calibration().profile(code)
    assert p.level == level  # median of the log's (min+max)/2
    busy = p.expected_people(datetime(2026, 6, 10, busier_hour, 30, tzinfo=KST))
    quiet = p.expected_people(datetime(2026, 6, 10, quieter_hour, 30, tzinfo=KST))
    assert busy > 2.5 * quiet


def test_factor_interpolates_between_hour_centres() -> None:
    p = load_calibration().profile("POI072")
    at_0830 = p.factor(datetime(2026, 6, 10, 8, 30, tzinfo=KST))
    at_0930 = p.factor(datetime(2026, 6, 10, 9, 30, tzinfo=KST))
    at_0900 = p.factor(datetime(2026, 6, 10, 9, 0, tzinfo=KST))
    assert at_0830 == pytest.approx(p.weekday[8])
    assert at_0900 == pytest.approx((at_0830 + at_0930) / 2)


def test_kernel_shape_fills_unseen_hours_from_prior() -> None:
    hours = np.array([3.5, 14.5])
    ratios = np.array([0.5, 2.0])
    shape = kernel_shape(hours, ratios, [1.0] * 24, prior_weight=0.5)
    assert shape[3] == pytest.approx((0.5 + 0.5) / 1.5, rel=1e-3)
    assert shape[14] == pytest.approx((2.0 + 0.5) / 1.5, rel=1e-3)
    assert shape[9] == pytest.approx(1.0, abs=1e-3)  # far from every sample: the prior


@pytest.mark.parametrize(
    ("labels", "expected_first_cut"),
    [
        (["여유", "여유", "보통", "보통"], 1.5),  # half 여유: cut at the median ratio
        ([None, None], 0.8),  # no labels: defaults
    ],
)
def test_label_cuts(labels: list[str | None], expected_first_cut: float) -> None:
    ratios = [0.5, 1.0, 2.0, 3.0][: len(labels)]
    cuts = label_cuts(ratios, labels)
    assert cuts[0] == pytest.approx(expected_first_cut)
    assert cuts[0] < cuts[1] < cuts[2]


def test_read_hourly_log_spot_check() -> None:
    if not (DATA / HOURLY_LOG).exists():
        pytest.skip(f"real Seoul data not found at {DATA}")
    obs = read_hourly_log(DATA / HOURLY_LOG, name_index(load_hotspots()))
    assert len(obs) == 118  # 121 logged names; 송현녹지광장, 숭례문, 시의회 앞 are not hotspots
    first = obs["POI083"][0]  # DDP: first row of the log
    assert first.time == datetime(2026, 6, 4, 8, 20, tzinfo=KST)
    assert first.people == 5250.0
    assert first.label == "보통"
