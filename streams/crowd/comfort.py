"""Seoul-style comfort levels (여유 < 보통 < 약간 붐빔 < 붐빔) from a head count.

Seoul's label is not one head-count cutoff per area: the same count is 보통 on a weekday
afternoon and 붐빔 on a Saturday, and the cutoffs drift over weeks. So the calibration is
per area and per time slot (day type x hour of day), fitted on labelled history with
recent days weighing more, and falls back to coarser slots where history is thin.

Pure: no clock; times are passed in and read in Korea Standard Time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from citypulse.domain.comfort import COMFORT_LEVELS, ComfortLabel
from citypulse.domain.korea_time import KST

COMFORT_LABELS: tuple[ComfortLabel, ...] = COMFORT_LEVELS
_RANK: dict[ComfortLabel, int] = {label: i for i, label in enumerate(COMFORT_LABELS)}

DayType = Literal["weekday", "saturday", "sunday"]
UNSEEN_LEVEL_STEP = 1.1


def comfort_rank(label: ComfortLabel) -> int:
    return _RANK[label]


def day_type(at: datetime, holidays: frozenset[date] = frozenset()) -> DayType:
    """Public holidays count as Sundays: crowds follow the day off, not the calendar."""
    local = at.astimezone(KST)
    if local.date() in holidays or local.weekday() == 6:
        return "sunday"
    return "saturday" if local.weekday() == 5 else "weekday"


@dataclass(frozen=True)
class LabelledCount:
    """One labelled observation: Seoul's label for a head count at a time."""

    area: str
    at: datetime
    people: float
    label: ComfortLabel


@dataclass(frozen=True)
class ComfortCutoffs:
    """Lowest head count of 보통, 약간 붐빔 and 붐빔; non-decreasing."""

    lower_bounds: tuple[float, float, float]

    def __post_init__(self) -> None:
        a, b, c = self.lower_bounds
        if not a <= b <= c:
            raise ValueError(f"comfort cutoffs must be non-decreasing: {self.lower_bounds}")

    def label(self, people: float) -> ComfortLabel:
        return COMFORT_LABELS[sum(1 for bound in self.lower_bounds if people >= bound)]


@dataclass(frozen=True)
class _Boundary:
    """What the data says about one boundary: a fitted cutoff, or only a one-sided bound."""

    cutoff: float | None  # both sides seen: the best split
    above: float  # the cutoff lies above this (largest count seen below the boundary)
    below: float  # the cutoff lies at or below this (smallest count seen above it)


def _fit_boundary(
    people: Sequence[float],
    ranks: Sequence[int],
    weights: Sequence[float],
    k: int,
    prior: float | None = None,
) -> _Boundary:
    """Weighted best split between ranks < k and ranks >= k (fewest weighted errors)."""
    neg = [p for p, r in zip(people, ranks, strict=True) if r < k]
    pos = [p for p, r in zip(people, ranks, strict=True) if r >= k]
    above = max(neg) if neg else -math.inf
    below = min(pos) if pos else math.inf
    if not neg or not pos:
        return _Boundary(None, above, below)
    order = sorted(range(len(people)), key=lambda i: people[i])
    # error(t) = weight of positives below t + weight of negatives at or above t
    err = sum(w for w, r in zip(weights, ranks, strict=True) if r < k)
    best, best_first, best_last = err, 0, 0
    values = [people[i] for i in order]
    for j, i in enumerate(order):
        err += weights[i] if ranks[i] >= k else -weights[i]
        if j + 1 < len(order) and values[j + 1] == values[j]:
            continue  # a cutoff cannot fall between equal counts
        if err < best - 1e-12:
            best, best_first, best_last = err, j + 1, j + 1
        elif abs(err - best) <= 1e-12:
            best_last = j + 1
    if prior is not None:
        # The slot's own counts leave the cutoff anywhere in a range: the coarser fit
        # (all hours of the day type, or the area) picks where, clamped to the range.
        low = values[best_first - 1] if best_first > 0 else -math.inf
        high = values[best_last] if best_last < len(values) else math.inf
        if low < prior <= high:
            return _Boundary(prior, above, below)
    idx = (best_first + best_last) // 2  # middle of the tied optimal range
    if idx == 0:
        return _Boundary(values[0], above, below)
    if idx >= len(values):
        return _Boundary(values[-1] + 1.0, above, below)
    return _Boundary((values[idx - 1] + values[idx]) / 2.0, above, below)


def _fit_boundaries(
    people: Sequence[float],
    ranks: Sequence[int],
    weights: Sequence[float],
    prior: tuple[float, float, float] | None = None,
) -> tuple[_Boundary, _Boundary, _Boundary]:
    return (
        _fit_boundary(people, ranks, weights, 1, prior[0] if prior else None),
        _fit_boundary(people, ranks, weights, 2, prior[1] if prior else None),
        _fit_boundary(people, ranks, weights, 3, prior[2] if prior else None),
    )


def _resolve(
    specific: tuple[_Boundary, ...], fallback: tuple[float, float, float] | None
) -> tuple[float, float, float] | None:
    """Fill one-sided boundaries from the fallback, clamped to what this slot has seen."""
    out: list[float] = []
    unseen = 0
    for k, boundary in enumerate(specific):
        if boundary.cutoff is not None:
            value = boundary.cutoff
        elif fallback is not None:
            value = min(max(fallback[k], boundary.above + 1.0), boundary.below)
        elif math.isfinite(boundary.above):
            # Never seen this busy: a ladder of 10 % steps above the highest count seen.
            unseen += 1
            value = max(boundary.above, 1.0) * UNSEEN_LEVEL_STEP**unseen
        else:
            return None
        out.append(value)
    for k in range(1, 3):  # keep the order even where slots disagree
        out[k] = max(out[k], out[k - 1])
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class ComfortModelConfig:
    # The service's defaults (streams/calibration.py fits with them). A half-life keeps a
    # months-long history following Seoul's drifting cutoffs; on the 23-day shipped log the
    # bench's inner selection prefers none, and its daily-refit figure uses these defaults.
    hour_radius: int = 0  # hours either side that count as "the same time of day"
    half_life_days: float | None = 14.0  # recency weighting; None weighs all days alike
    min_points: int = 2  # fewer points in a slot and it defers to the coarser slot
    split_day_types: bool = True


@dataclass(frozen=True)
class ComfortCalibration:
    """Per-area cutoffs for each (day type, hour) slot, with a per-area fallback."""

    slots: Mapping[tuple[str, DayType, int], ComfortCutoffs]
    area_fallback: Mapping[str, ComfortCutoffs]
    config: ComfortModelConfig = field(default_factory=ComfortModelConfig)
    holidays: frozenset[date] = frozenset()

    def cutoffs(self, area: str, at: datetime) -> ComfortCutoffs | None:
        local = at.astimezone(KST)
        kind: DayType = day_type(at, self.holidays) if self.config.split_day_types else "weekday"
        slot = self.slots.get((area, kind, local.hour))
        return slot if slot is not None else self.area_fallback.get(area)

    def label(self, area: str, people: float, at: datetime) -> ComfortLabel | None:
        cutoffs = self.cutoffs(area, at)
        return None if cutoffs is None else cutoffs.label(people)


def _hour_distance(a: int, b: int) -> int:
    d = abs(a - b) % 24
    return min(d, 24 - d)


def fit_comfort_calibration(
    history: Iterable[LabelledCount],
    config: ComfortModelConfig | None = None,
    holidays: frozenset[date] = frozenset(),
) -> ComfortCalibration:
    """Fit cutoffs per area and slot; recency is measured from the newest labelled day."""
    cfg = config or ComfortModelConfig()
    by_area: dict[str, list[LabelledCount]] = defaultdict(list)
    for item in history:
        by_area[item.area].append(item)
    slots: dict[tuple[str, DayType, int], ComfortCutoffs] = {}
    fallback: dict[str, ComfortCutoffs] = {}
    for area, items in by_area.items():
        newest = max(i.at for i in items)

        def weight(i: LabelledCount, newest: datetime = newest) -> float:
            if cfg.half_life_days is None:
                return 1.0
            age_days = (newest - i.at).total_seconds() / 86400.0
            return float(0.5 ** (age_days / cfg.half_life_days))

        weights = [weight(i) for i in items]
        people = [i.people for i in items]
        ranks = [_RANK[i.label] for i in items]
        area_cut = _resolve(_fit_boundaries(people, ranks, weights), None)
        if area_cut is None:
            continue
        fallback[area] = ComfortCutoffs(area_cut)
        kinds: tuple[DayType, ...] = (
            ("weekday", "saturday", "sunday") if cfg.split_day_types else ("weekday",)
        )
        for kind in kinds:
            same_day = [
                j
                for j, i in enumerate(items)
                if not cfg.split_day_types or day_type(i.at, holidays) == kind
            ]
            day_cut = area_cut
            if len(same_day) >= cfg.min_points:
                day_fit = _fit_boundaries(
                    [people[j] for j in same_day],
                    [ranks[j] for j in same_day],
                    [weights[j] for j in same_day],
                    area_cut,
                )
                day_cut = _resolve(day_fit, area_cut) or area_cut
            for hour in range(24):
                near = [
                    j
                    for j in same_day
                    if _hour_distance(items[j].at.astimezone(KST).hour, hour) <= cfg.hour_radius
                ]
                cut = day_cut
                if len(near) >= cfg.min_points:
                    fit = _fit_boundaries(
                        [people[j] for j in near],
                        [ranks[j] for j in near],
                        [weights[j] for j in near],
                        day_cut,
                    )
                    cut = _resolve(fit, day_cut) or day_cut
                slots[(area, kind, hour)] = ComfortCutoffs(cut)
    return ComfortCalibration(slots, fallback, cfg, holidays)


def fixed_cutoff_calibration(history: Iterable[LabelledCount]) -> ComfortCalibration:
    """Baseline: one cutoff set per area, all days weighed alike, no time of day."""
    by_area: dict[str, list[LabelledCount]] = defaultdict(list)
    for item in history:
        by_area[item.area].append(item)
    fallback: dict[str, ComfortCutoffs] = {}
    for area, items in by_area.items():
        fit = _fit_boundaries(
            [i.people for i in items], [_RANK[i.label] for i in items], [1.0] * len(items)
        )
        cut = _resolve(fit, None)
        if cut is not None:
            fallback[area] = ComfortCutoffs(cut)
    return ComfortCalibration({}, fallback, ComfortModelConfig(half_life_days=None))
