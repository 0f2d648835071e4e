"""Density forecasts at +10 and +30 minutes, and a tracker that scores them.

The trend part is a damped linear trend: the slope is assumed to fade by a factor phi
every minute, so +h adds slope x (phi + phi² + ... + phi^h); crowds rarely keep rising
at the same rate for half an hour. When the area's daily shape (typical density by time
of day) is known, the forecast blends in the shape's relative change from now to the
target, trusting the trend less as the horizon grows.

Pure: `now` is passed in; numpy only for the shape interpolation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import numpy as np

from citypulse.domain.korea_time import KST

FORECAST_HORIZONS_MIN: tuple[int, ...] = (10, 30)
DAMPING_PER_MIN = 0.95
TREND_TRUST_HALF_LIFE_MIN = 20.0  # trend vs daily shape: equal trust at +20 minutes
# About the tightest people can stand (body-ellipse packing); a trend extrapolated from a
# sudden step must not promise more. Above every stage threshold, so alerts are unchanged.
MAX_FORECAST_PER_M2 = 10.0


def damped_steps(horizon_min: float, phi: float = DAMPING_PER_MIN) -> float:
    """phi + phi² + ... + phi^h: minutes of slope a damped trend adds by +h."""
    if phi == 1.0:
        return horizon_min
    return float(phi * (1.0 - phi**horizon_min) / (1.0 - phi))


@dataclass(frozen=True)
class DailyShape:
    """Typical value at each hour of the local day (24 values); interpolated between."""

    hourly: tuple[float, ...]
    tz: tzinfo = KST

    def __post_init__(self) -> None:
        if len(self.hourly) != 24 or any(v < 0 for v in self.hourly):
            raise ValueError("a daily shape needs 24 non-negative hourly values")

    def at(self, when: datetime) -> float:
        local = when.astimezone(self.tz)
        hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        xs = np.arange(25, dtype=np.float64)
        ys = np.asarray((*self.hourly, self.hourly[0]), dtype=np.float64)  # wraps midnight
        return float(np.interp(hour, xs, ys))


@dataclass(frozen=True)
class Forecast:
    horizon_min: int
    target_time: datetime
    density_per_m2: float


def forecast_density(
    current: float,
    slope_per_min: float | None,
    now: datetime,
    horizons_min: Sequence[int] = FORECAST_HORIZONS_MIN,
    shape: DailyShape | None = None,
    phi: float = DAMPING_PER_MIN,
    ceiling: float = MAX_FORECAST_PER_M2,
) -> tuple[Forecast, ...]:
    """Forecast per horizon; with neither a slope nor a shape, persistence (no change).
    Kept within 0 and `ceiling` (or the current density, if that is already higher)."""
    top = max(ceiling, current)
    out: list[Forecast] = []
    base_now = shape.at(now) if shape is not None else 0.0
    for h in horizons_min:
        target = now + timedelta(minutes=h)
        by_trend = current + (slope_per_min or 0.0) * damped_steps(h, phi)
        value = by_trend
        if shape is not None:
            ahead = shape.at(target)
            # Ratio where the shape is non-zero now, the shape's own change otherwise.
            by_shape = current * ahead / base_now if base_now > 0 else current + ahead
            trust = 0.5 ** (h / TREND_TRUST_HALF_LIFE_MIN) if slope_per_min is not None else 0.0
            value = trust * by_trend + (1.0 - trust) * by_shape
        out.append(Forecast(h, target, min(top, max(0.0, value))))
    return tuple(out)


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


class ForecastTracker:
    """Holds recent forecasts and scores each (MAE per horizon) when its actual arrives.

    Memory is bounded: at most `max_pending` forecasts wait; running sums keep the score.
    """

    def __init__(self, tolerance: timedelta = timedelta(seconds=30), max_pending: int = 256):
        self.tolerance = tolerance
        self._pending: deque[Forecast] = deque(maxlen=max_pending)
        # Kept beside `_pending` (every state of every area records and observes): the held
        # slots and the earliest target, so most calls touch no pending forecast at all.
        self._slots: set[tuple[int, datetime]] = set()
        self._earliest: datetime | None = None
        self._abs_error: dict[int, float] = {}
        self._scored: dict[int, int] = {}
        self.expired = 0  # forecasts whose target passed with no actual near it

    def record(self, forecasts: Sequence[Forecast]) -> int:
        """Keep one forecast per horizon and target minute (states refresh every few s)."""
        added = 0
        for f in forecasts:
            slot = (f.horizon_min, _minute(f.target_time))
            if slot in self._slots:
                continue
            if len(self._pending) == self._pending.maxlen:
                dropped = self._pending.popleft()
                self._slots.discard((dropped.horizon_min, _minute(dropped.target_time)))
                self._earliest = min((p.target_time for p in self._pending), default=None)
            self._pending.append(f)
            self._slots.add(slot)
            if self._earliest is None or f.target_time < self._earliest:
                self._earliest = f.target_time
            added += 1
        return added

    def observe(self, at: datetime, actual: float) -> int:
        """Score every pending forecast whose target time is within tolerance of `at`."""
        if self._earliest is None or at < self._earliest - self.tolerance:
            return 0  # nothing due and nothing expired
        scored = 0
        keep: deque[Forecast] = deque(maxlen=self._pending.maxlen)
        for f in self._pending:
            if abs(f.target_time - at) <= self.tolerance:
                self._abs_error[f.horizon_min] = self._abs_error.get(f.horizon_min, 0.0) + abs(
                    f.density_per_m2 - actual
                )
                self._scored[f.horizon_min] = self._scored.get(f.horizon_min, 0) + 1
                scored += 1
            elif f.target_time < at - self.tolerance:
                self.expired += 1
            else:
                keep.append(f)
                continue
            self._slots.discard((f.horizon_min, _minute(f.target_time)))
        self._pending = keep
        self._earliest = min((f.target_time for f in keep), default=None)
        return scored

    @property
    def pending(self) -> int:
        return len(self._pending)

    def scored(self, horizon_min: int) -> int:
        return self._scored.get(horizon_min, 0)

    def mae(self, horizon_min: int) -> float | None:
        n = self._scored.get(horizon_min, 0)
        return None if n == 0 else self._abs_error[horizon_min] / n

    def skill(self) -> dict[int, tuple[float | None, int]]:
        """(mean absolute error, forecasts scored) per horizon scored so far."""
        return {h: (self.mae(h), n) for h, n in self._scored.items()}
