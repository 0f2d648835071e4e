from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from streams.crowd.forecast import (
    DailyShape,
    Forecast,
    ForecastTracker,
    damped_steps,
    forecast_density,
)
from streams.crowd.trend import (
    DensityHistory,
    TrendMethod,
    TrendReading,
    read_trend,
    theil_sen_slope,
    trend_agreement,
    trend_per_min,
    trend_ready,
)

NOW = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)  # 13:00 KST


def mins_ago(m: float) -> datetime:
    return NOW - timedelta(minutes=m)


LINE = [(mins_ago(m), 2.0 - 0.1 * m) for m in range(10, -1, -1)]  # +0.1 /m² per minute


@pytest.mark.parametrize("method", ["theil_sen", "weighted_ls"])
@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([], None),
        ([(mins_ago(1), 2.0)], None),  # single point
        ([(mins_ago(1), 2.0), (mins_ago(1), 2.5)], None),  # one distinct time
        (LINE, 0.1),
        (list(reversed(LINE)), 0.1),  # out of order
        ([LINE[0], LINE[3], LINE[4], LINE[10]], 0.1),  # irregular spacing
        ([(mins_ago(40), 9.0), *LINE], 0.1),  # outside the 15-minute window
        ([(NOW + timedelta(minutes=1), 9.0), *LINE], 0.1),  # ahead of now: ignored
        ([(mins_ago(m), 1.5) for m in range(5)], 0.0),  # flat
    ],
)
def test_trend_per_min(
    points: list[tuple[datetime, float]], expected: float | None, method: TrendMethod
) -> None:
    got = trend_per_min(points, NOW, method=method)
    assert got == (None if expected is None else pytest.approx(expected, abs=1e-9))


def test_theil_sen_shrugs_off_one_spike() -> None:
    spiked = [(t, v + (5.0 if i == 5 else 0.0)) for i, (t, v) in enumerate(LINE)]
    assert trend_per_min(spiked, NOW, method="theil_sen") == pytest.approx(0.1)
    least_squares = trend_per_min(spiked, NOW, method="weighted_ls")
    assert least_squares is not None and abs(least_squares - 0.1) > 0.01


@pytest.mark.parametrize(
    ("h", "phi", "expected"),
    [(10, 1.0, 10.0), (10, 0.95, 7.6240), (30, 0.95, 14.9219), (0, 0.95, 0.0)],
)
def test_damped_steps(h: int, phi: float, expected: float) -> None:
    assert damped_steps(h, phi) == pytest.approx(expected, abs=1e-4)


# Typical density by KST hour: 2.0 at 13:00 falling to 1.0 at 14:00, 1.0 otherwise.
SHAPE = DailyShape(tuple(2.0 if h == 13 else 1.0 for h in range(24)))


@pytest.mark.parametrize(
    ("when", "expected"),
    [(NOW, 2.0), (NOW + timedelta(minutes=30), 1.5), (NOW - timedelta(hours=13), 1.0)],
)
def test_daily_shape_interpolates_in_kst(when: datetime, expected: float) -> None:
    assert SHAPE.at(when) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("current", "slope", "shape", "expected"),
    [
        (2.0, None, None, (2.0, 2.0)),  # persistence
        (2.0, 0.1, None, (2.76240, 3.49219)),  # damped trend
        (0.2, -0.1, None, (0.0, 0.0)),  # never negative
        (3.7, 1.0, None, (10.0, 10.0)),  # a sudden step: capped at physical packing
        (8.0, 0.5, None, (10.0, 10.0)),  # reaches the cap between now and +10
        (11.0, 0.2, None, (11.0, 11.0)),  # already above the cap: never below what is seen
        # shape alone: its relative change, 2.0 -> 1.8333 and 2.0 -> 1.5
        (1.0, None, SHAPE, (0.91667, 0.75)),
        # blend: trust in the trend 0.5^(10/20) at +10, 0.5^(30/20) at +30
        (1.0, 0.1, SHAPE, (1.51469, 1.36596)),
    ],
)
def test_forecast_density(
    current: float, slope: float | None, shape: DailyShape | None, expected: tuple[float, ...]
) -> None:
    got = forecast_density(current, slope, NOW, shape=shape)
    assert [f.horizon_min for f in got] == [10, 30]
    assert [f.target_time for f in got] == [
        NOW + timedelta(minutes=10),
        NOW + timedelta(minutes=30),
    ]
    assert [f.density_per_m2 for f in got] == pytest.approx(expected, abs=1e-4)


def test_daily_shape_needs_24_values() -> None:
    with pytest.raises(ValueError):
        DailyShape((1.0,) * 23)


def test_forecast_tracker_scores_mae_when_actual_arrives() -> None:
    tracker = ForecastTracker()
    f10 = Forecast(10, NOW + timedelta(minutes=10), 2.5)
    f30 = Forecast(30, NOW + timedelta(minutes=30), 3.0)
    assert tracker.record([f10, f30]) == 2
    assert tracker.record([Forecast(10, NOW + timedelta(minutes=10, seconds=20), 9.9)]) == 0
    assert tracker.observe(NOW + timedelta(minutes=5), 2.0) == 0  # nothing due yet
    assert tracker.observe(NOW + timedelta(minutes=10, seconds=30), 2.0) == 1
    assert tracker.mae(10) == pytest.approx(0.5)
    assert tracker.mae(30) is None
    # the 30-minute target passes with no actual near it: expired, not scored
    assert tracker.observe(NOW + timedelta(minutes=45), 1.0) == 0
    assert (tracker.expired, tracker.pending, tracker.scored(30)) == (1, 0, 0)


def test_forecast_tracker_memory_is_bounded() -> None:
    tracker = ForecastTracker(max_pending=8)
    for m in range(100):
        tracker.record([Forecast(10, NOW + timedelta(minutes=m), 1.0)])
    assert tracker.pending == 8


@pytest.mark.parametrize("n", [2, 3, 4, 5, 30, 31, 90])
def test_theil_sen_slope_is_the_median_of_pairwise_slopes(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.sort(rng.uniform(-15, 0, n))
    y = rng.normal(2.0, 0.5, n)
    pairwise = [(y[j] - y[i]) / (x[j] - x[i]) for i in range(n) for j in range(i + 1, n)]
    assert theil_sen_slope(x, y) == pytest.approx(float(np.median(pairwise)), rel=1e-12)


def test_trend_from_a_density_history_equals_the_trend_from_its_points() -> None:
    rng = np.random.default_rng(7)
    history = DensityHistory(60, timedelta(seconds=30))
    at = NOW
    for _ in range(200):  # in order, same slot, late and duplicate inputs
        at += timedelta(seconds=float(rng.choice([0, 4, 17, 31, 65, -50])))
        history.remember(at, float(rng.uniform(0, 4)))
        points = list(history)
        assert len(points) == len(history) <= 60
        for method in ("theil_sen", "weighted_ls"):
            assert trend_per_min(history, at, method=method) == trend_per_min(
                points, at, method=method
            )


def test_read_trend_is_the_three_trend_readings_of_the_same_window() -> None:
    """What a state carries (`read_trend`, one window and one set of pairs) equals asking
    `trend_ready`, then `trend_per_min` and `trend_agreement`, each on its own: on a
    history (in order, same slot, late and duplicate inputs) and on point lists with
    repeated times (a history keeps one point per time; a list need not)."""
    rng = np.random.default_rng(11)
    history = DensityHistory(60, timedelta(seconds=30))
    at = NOW
    ready = 0
    for step in range(300):
        at += timedelta(seconds=float(rng.choice([0, 4, 17, 31, 65, 140, -50])))
        history.remember(at, float(rng.uniform(0, 4)))
        points = list(history)
        if step % 3 == 0:  # repeated times, and steps of no change
            points += [(t, v + 0.5) for t, v in points[-int(rng.integers(1, 4)) :]]
            points += [(t, 2.0) for t, _ in points[: int(rng.integers(0, 3))]]
        for pts in (history, points):
            expected = (
                TrendReading(True, trend_per_min(pts, at), trend_agreement(pts, at))
                if trend_ready(pts, at)
                else TrendReading(False, None, None)
            )
            assert read_trend(pts, at) == expected
            ready += expected.ready
    assert 100 < ready < 600  # both outcomes seen, many times


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


class _ReferenceTracker:
    """ForecastTracker as first written: every call scans every pending forecast."""

    def __init__(self, tolerance: timedelta, max_pending: int) -> None:
        self.tolerance, self.max_pending = tolerance, max_pending
        self.pending: list[Forecast] = []
        self.errors: dict[int, list[float]] = {}
        self.expired = 0

    def record(self, forecasts: list[Forecast]) -> int:
        held = {(f.horizon_min, _minute(f.target_time)) for f in self.pending}
        added = 0
        for f in forecasts:
            slot = (f.horizon_min, _minute(f.target_time))
            if slot not in held:
                self.pending = [*self.pending, f][-self.max_pending :]
                held.add(slot)
                added += 1
        return added

    def observe(self, at: datetime, actual: float) -> int:
        keep, scored = [], 0
        for f in self.pending:
            if abs(f.target_time - at) <= self.tolerance:
                self.errors.setdefault(f.horizon_min, []).append(abs(f.density_per_m2 - actual))
                scored += 1
            elif f.target_time < at - self.tolerance:
                self.expired += 1
            else:
                keep.append(f)
        self.pending = keep
        return scored


@pytest.mark.parametrize("max_pending", [4, 256])
def test_forecast_tracker_scores_as_a_full_scan_would(max_pending: int) -> None:
    rng = np.random.default_rng(max_pending)
    tracker = ForecastTracker(max_pending=max_pending)
    reference = _ReferenceTracker(timedelta(seconds=30), max_pending)
    now = NOW
    for _ in range(3000):
        now += timedelta(seconds=float(rng.choice([5, 5, 20, 61, 400])))
        density = float(rng.uniform(0, 5))
        assert tracker.observe(now, density) == reference.observe(now, density)
        made = [Forecast(h, now + timedelta(minutes=h), density + h / 10) for h in (10, 30)]
        assert tracker.record(made) == reference.record(made)
        assert (tracker.pending, tracker.expired) == (len(reference.pending), reference.expired)
    for h, errors in reference.errors.items():
        assert tracker.scored(h) == len(errors)
        assert tracker.mae(h) == pytest.approx(sum(errors) / len(errors))


@pytest.mark.parametrize(
    ("points", "slope"),
    [
        ([(NOW - timedelta(minutes=15), 0.0), (NOW, 1.5)], 0.1),  # the window's start counts
        ([(NOW - timedelta(minutes=15, microseconds=1), 0.0), (NOW, 1.5)], None),
        ([(NOW - timedelta(minutes=5), 0.5), (NOW + timedelta(microseconds=1), 9.0)], None),
    ],
)
def test_trend_window_bounds_are_exact_to_the_microsecond(
    points: list[tuple[datetime, float]], slope: float | None
) -> None:
    for source in (points, _history(points)):
        got = trend_per_min(source, NOW)
        assert got == (None if slope is None else pytest.approx(slope))


def _history(points: list[tuple[datetime, float]]) -> DensityHistory:
    history = DensityHistory(60, timedelta(seconds=30))
    for at, density in points:
        history.remember(at, density)
    return history


@pytest.mark.parametrize(
    ("minutes_ago", "ready"),
    [
        ([], False),
        ([0, 1, 2], False),  # a cold start: three points over two minutes
        ([0, 10], False),  # two points span enough but are too few
        ([0, 5, 10], True),  # three telecom estimates, 5 minutes apart
        ([0, 5, 9.9], False),
        ([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4], False),  # many points, short span
        (list(range(11)), True),
        ([0, 5, 10, 16], True),  # the point beyond the window does not count ...
        ([0, 5, 16, 20], False),  # ... so it cannot make a short span long
        ([0, 0, 10, 10, 10], False),  # points at one time count once
        ([0, 0, 5, 10, 10], True),
    ],
)
def test_trend_ready_needs_three_points_over_ten_minutes(
    minutes_ago: list[float], ready: bool
) -> None:
    now = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)
    points = [(now - timedelta(minutes=m), 1.0 + m) for m in minutes_ago]
    assert trend_ready(points, now) is ready


def test_a_restarted_history_forgets_and_refuses_older_points() -> None:
    t0 = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)
    h = DensityHistory(10, timedelta(seconds=30))
    for m in range(5):
        h.remember(t0 + timedelta(minutes=m), float(m))
    h.restart(t0 + timedelta(minutes=5))
    assert (len(h), h.newest) == (0, None)
    h.remember(t0 + timedelta(minutes=4), 4.0)  # late, from before the restart
    h.remember(t0 + timedelta(minutes=6), 6.0)
    assert list(h) == [(t0 + timedelta(minutes=6), 6.0)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 1.2, 1.4, 1.6, 1.8], 1.0),  # every later point higher
        ([1.8, 1.6, 1.4, 1.2, 1.0], -1.0),
        ([1.0, 1.0, 1.0, 1.0], 0.0),
        ([1.0, 1.4, 1.1, 1.3], 1 / 3),  # 4 pairs rise, 2 fall, of 6
    ],
)
def test_trend_agreement_is_kendalls_tau_over_the_window(
    values: list[float], expected: float
) -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    points = [(now - timedelta(minutes=len(values) - 1 - i), v) for i, v in enumerate(values)]
    assert trend_agreement(points, now) == pytest.approx(expected)
    assert trend_agreement(points[:1], now) is None
