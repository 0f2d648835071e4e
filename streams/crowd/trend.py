"""How fast density is changing, in persons/m² per minute, from a recent window.

Points may arrive out of order and irregularly spaced (late corrections, a missed
minute). Theil-Sen (median of pairwise slopes) is the default: one spurious spike
cannot swing it. Time-weighted least squares is kept for when recent points should
dominate. Pure: `now` is passed in.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

TREND_WINDOW = timedelta(minutes=15)
TREND_HALF_LIFE_MIN = 5.0

TrendMethod = Literal["theil_sen", "weighted_ls"]


def _minutes_before(
    points: Iterable[tuple[datetime, float]], now: datetime, window: timedelta
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Minutes relative to `now` (<= 0) and values, within the window, sorted by time."""
    rows = [
        ((t - now).total_seconds() / 60.0, v)
        for t, v in points
        if now - window <= t <= now and np.isfinite(v)
    ]
    rows.sort()
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


@functools.lru_cache(maxsize=256)
def _pairs(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    # Every state of every area recomputes the trend over a window of similar size.
    i, j = np.triu_indices(n, k=1)
    i.flags.writeable = j.flags.writeable = False
    return i, j


def theil_sen_slope(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float | None:
    i, j = _pairs(len(x))
    dx = x[j] - x[i]
    keep = dx > 0
    if not keep.any():
        return None
    return float(np.median((y[j] - y[i])[keep] / dx[keep]))


def weighted_ls_slope(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], half_life_min: float
) -> float | None:
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    w = 0.5 ** (-x / half_life_min)  # x <= 0: the newest point weighs 1
    xm = np.average(x, weights=w)
    ym = np.average(y, weights=w)
    var = float(np.sum(w * (x - xm) ** 2))
    if var == 0.0:
        return None
    return float(np.sum(w * (x - xm) * (y - ym)) / var)


def trend_per_min(
    points: Iterable[tuple[datetime, float]],
    now: datetime,
    window: timedelta = TREND_WINDOW,
    method: TrendMethod = "theil_sen",
    half_life_min: float = TREND_HALF_LIFE_MIN,
) -> float | None:
    """Slope of density over the last `window`; None with fewer than two distinct times."""
    x, y = _minutes_before(points, now, window)
    if len(x) < 2:
        return None
    if method == "theil_sen":
        return theil_sen_slope(x, y)
    return weighted_ls_slope(x, y, half_life_min)
