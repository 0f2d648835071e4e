"""How fast density is changing, in persons/m² per minute, from a recent window.

Points may arrive out of order and irregularly spaced (late corrections, a missed
minute). Theil-Sen (median of pairwise slopes) is the default: one spurious spike
cannot swing it. Time-weighted least squares is kept for when recent points should
dominate. Pure: `now` is passed in.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

TREND_WINDOW = timedelta(minutes=15)
# A trend any rule may use needs this many points over this span (after a start, an
# outage or a change of sources): two or three noisy counter minutes after a cold start
# gave +0.4/m² a minute. Three telecom estimates (every 5 min) span 10 minutes.
MIN_TREND_POINTS = 3
MIN_TREND_SPAN = timedelta(minutes=10)
TREND_HALF_LIFE_MIN = 5.0
_MICROSECOND = timedelta(microseconds=1)

TrendMethod = Literal["theil_sen", "weighted_ls"]


def _minutes_before(
    points: Iterable[tuple[datetime, float]], now: datetime, window: timedelta
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Minutes relative to `now` (<= 0) and values, within the window, sorted by time."""
    if isinstance(points, DensityHistory):
        us, values = points.arrays()
    else:
        pts = points if isinstance(points, Sequence) else list(points)
        us = np.fromiter((_to_us(t) for t, _ in pts), np.float64, len(pts))
        values = np.fromiter((v for _, v in pts), np.float64, len(pts))
    # Vectorized (every state of every area comes through here), on whole microseconds
    # as datetimes hold them, so the window's bounds stay exact.
    now_us = _to_us(now)
    keep = (us >= now_us - window // _MICROSECOND) & (us <= now_us) & np.isfinite(values)
    x = (us[keep] - now_us) / 1e6 / 60.0
    y = values[keep]
    order = np.lexsort((y, x))
    return x[order], y[order]


class DensityHistory:
    """Bounded recent (event time, density) points of one area or zone, one per input slot.

    Iterates as (datetime, density) pairs like any point list, and also keeps the times
    as whole microseconds so the trend reads both as arrays without converting each point.
    """

    def __init__(self, maxlen: int, spacing: timedelta) -> None:
        self._times: deque[datetime] = deque(maxlen=maxlen)
        self._us: deque[int] = deque(maxlen=maxlen)
        self._values: deque[float] = deque(maxlen=maxlen)
        self._spacing_us = spacing // _MICROSECOND
        self._since_us: int | None = None

    def restart(self, since: datetime) -> None:
        """Forget every point; later points older than `since` are ignored too."""
        self._times.clear()
        self._us.clear()
        self._values.clear()
        self._since_us = _to_us(since)

    @property
    def newest(self) -> datetime | None:
        return self._times[-1] if self._times else None

    def remember(self, at: datetime, density: float) -> None:
        """Inputs in the newest point's slot replace it (a state refreshed every 5 s must
        not flood the trend); a late input in an older slot is kept beside it."""
        at_us = _to_us(at)
        if self._since_us is not None and at_us < self._since_us:
            return  # from before a restart: it belongs to another set of sources
        if self._us:
            last = self._us[-1]
            if at_us >= last and at_us // self._spacing_us == last // self._spacing_us:
                self._times[-1], self._us[-1], self._values[-1] = at, at_us, density
                return
        if at_us not in self._us:
            self._times.append(at)
            self._us.append(at_us)
            self._values.append(density)

    def arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        n = len(self._us)
        return np.fromiter(self._us, np.float64, n), np.fromiter(self._values, np.float64, n)

    def __iter__(self) -> Iterator[tuple[datetime, float]]:
        return zip(self._times, self._values, strict=True)

    def __len__(self) -> int:
        return len(self._times)


def _to_us(t: datetime) -> int:
    return round(t.timestamp() * 1e6)


@functools.lru_cache(maxsize=256)
def _pairs(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    # Every state of every area recomputes the trend over a window of similar size.
    i, j = np.triu_indices(n, k=1)
    i.flags.writeable = j.flags.writeable = False
    return i, j


def theil_sen_slope(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float | None:
    return _theil_sen(_Pairs(x, y))


class _Pairs:
    """Each pair of points whose second is later than its first, as time and density
    steps: Theil-Sen and Kendall's tau both read them, so a state that asks for both
    builds them once."""

    def __init__(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> None:
        i, j = _pairs(len(x))
        dx = x[j] - x[i]
        later = dx > 0
        self.dx = dx[later]
        self.dy = (y[j] - y[i])[later]


def _theil_sen(p: _Pairs) -> float | None:
    if not len(p.dx):
        return None
    return _median(p.dy / p.dx)


def _kendall_tau(p: _Pairs) -> float | None:
    if not len(p.dy):
        return None
    return float(np.sign(p.dy).sum() / len(p.dy))  # np.mean's sum, without its overhead


def _median(a: npt.NDArray[np.float64]) -> float:
    # np.median's generic path costs more than the partition itself at these sizes.
    k = len(a) // 2
    if len(a) % 2:
        return float(np.partition(a, k)[k])
    p = np.partition(a, (k - 1, k))
    return float((p[k - 1] + p[k]) / 2.0)


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


def trend_ready(
    points: Iterable[tuple[datetime, float]],
    now: datetime,
    window: timedelta = TREND_WINDOW,
    min_points: int = MIN_TREND_POINTS,
    min_span: timedelta = MIN_TREND_SPAN,
) -> bool:
    """Enough distinct points over a long enough span within the window to trust a slope."""
    x, _ = _minutes_before(points, now, window)
    return _is_ready(x, min_points, min_span)


def _is_ready(x: npt.NDArray[np.float64], min_points: int, min_span: timedelta) -> bool:
    # x is sorted: its distinct values are where it steps (np.unique sorts again, and
    # costs more than the rest of a state's trend at these sizes).
    if len(x) == 0 or 1 + int(np.count_nonzero(x[1:] != x[:-1])) < min_points:
        return False
    return float(x[-1] - x[0]) >= min_span / timedelta(minutes=1) - 1e-9  # float minutes


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


def trend_agreement(
    points: Iterable[tuple[datetime, float]], now: datetime, window: timedelta = TREND_WINDOW
) -> float | None:
    """Kendall's tau of density against time over the window: the share of point pairs
    where the later is higher, less the share where it is lower. Near 1 on a steady
    climb, near 0 on noise around a level (counters back from an outage at another
    level give a slope, not agreement). None with fewer than two distinct times."""
    x, y = _minutes_before(points, now, window)
    if len(x) < 2:
        return None
    return _kendall_tau(_Pairs(x, y))


@dataclass(frozen=True)
class TrendReading:
    """What a state says of its trend: whether it may be used, and if so its slope
    (persons/m² a minute, Theil-Sen) and agreement (Kendall's tau); None when not ready."""

    ready: bool
    per_min: float | None
    agreement: float | None


NOT_READY = TrendReading(False, None, None)


def read_trend(
    points: Iterable[tuple[datetime, float]], now: datetime, window: timedelta = TREND_WINDOW
) -> TrendReading:
    """`trend_ready`, then `trend_per_min` and `trend_agreement` when ready, of one window
    and one set of pairs: every state of every area asks for all three (the three calls
    each cut the window and built the pairs again: bench/state_cpu.py)."""
    x, y = _minutes_before(points, now, window)
    if not _is_ready(x, MIN_TREND_POINTS, MIN_TREND_SPAN):
        return NOT_READY
    pairs = _Pairs(x, y)
    return TrendReading(True, _theil_sen(pairs), _kendall_tau(pairs))
