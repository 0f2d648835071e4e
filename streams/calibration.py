"""Per-area calibration fitted from the database's own history: comfort cutoffs, each
area's normal head count per time of week (mean and spread), and the daily shape the
forecast blends in. One fit serves the worker, `citypulse calibrate` and the benches.

An area with too little labelled history is left out and says `uncalibrated`: a cutoff
fitted on two days would only guess. Pure: the history and the clock are passed in.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from citypulse.domain.area_state import AreaState
from citypulse.domain.comfort import ComfortLabel
from citypulse.domain.korea_time import KST
from streams.crowd.comfort import (
    COMFORT_LABELS,
    ComfortCalibration,
    ComfortCutoffs,
    ComfortModelConfig,
    DayType,
    LabelledCount,
    day_type,
    fit_comfort_calibration,
)
from streams.crowd.forecast import DailyShape

DAY_TYPES: tuple[DayType, ...] = ("weekday", "saturday", "sunday")
# An hour's `high` looks this many hours either side: a venue's events start at different
# hours (a day game at 14:00, a night game at 18:30, a concert at 19:30), and a log sampled
# every few hours catches each event night at a different hour (bench/alert_quality.py:
# Gocheok Dome's 9,750 at 19:25 had been held at 21:00 on an earlier day). Two hours, not
# three: at three a 2x surge reached 주의 in 4 of 12 runs instead of 6 (same 경계+ count).
HIGH_WITHIN_HOURS = 2
UNCALIBRATED = "uncalibrated"


@dataclass(frozen=True)
class CalibrationPolicy:
    min_days: int = 3  # distinct labelled days an area needs before it is calibrated
    min_rows: int = 24
    lookback_days: float = 60.0  # history this much older than its newest reading is not read
    comfort: ComfortModelConfig = field(default_factory=ComfortModelConfig)


@dataclass(frozen=True)
class Normal:
    """An area's usual head count in one hour of one day type."""

    mean: float
    sd: float
    samples: int
    # The most the area held within HIGH_WITHIN_HOURS of this hour on any day: a stadium
    # full on game nights is not unusual there (bench/alert_quality.py). 0: unknown.
    high: float = 0.0


@dataclass(frozen=True)
class ComfortScore:
    hits: int
    scored: int
    per_label_hits: Mapping[str, int]
    per_label_rows: Mapping[str, int]
    kappa: float | None

    @property
    def agreement(self) -> float | None:
        return self.hits / self.scored if self.scored else None


@dataclass(frozen=True)
class Calibration:
    """One fit: what the worker labels comfort and forecasts with, and where it came from."""

    fitted_at: datetime
    span_from: datetime | None
    span_to: datetime | None
    rows: int
    comfort: ComfortCalibration
    normals: Mapping[tuple[str, DayType, int], Normal]
    calibrated: frozenset[str]
    holdout: Mapping[str, Any]
    fit_id: int | None = None

    def covers(self, at: datetime) -> bool:
        """Whether this fit can speak for `at`: its history had begun by then. A normal
        fitted on later history describes the area as it became, not as it was: the 2023
        5-minute log against the fit of the 2026 hourly log raised 13 주의 and 7 경계
        above_normal alerts in 135 area-days at areas whose level differs between the years
        (충정로역 2.4x, 용리단길 2.6x; across 102 areas the median ratio runs 0.14x to
        2.6x), a level shift, not a crowd (bench/alert_quality.py, docs/benchmarks.md).
        Live, history is always older than now; a replay or backfill of an older recording
        into a stack calibrated on newer history is where this answers no."""
        return self.span_from is None or at >= self.span_from

    def source(self, area: str) -> str:
        if area not in self.calibrated:
            return UNCALIBRATED
        return f"calibration:{self.fit_id}" if self.fit_id is not None else "calibration"

    def label(self, area: str, people: float, at: datetime) -> ComfortLabel | None:
        """The calibrated label, or None for an uncalibrated area (or a time before the
        fit's history)."""
        if area not in self.calibrated or not self.covers(at):
            return None
        return self.comfort.label(area, people, at)

    def comfort_for(self, area: str) -> ComfortCalibration | None:
        return self.comfort if area in self.calibrated else None

    def normal(self, area: str, at: datetime) -> Normal | None:
        if area not in self.calibrated or not self.covers(at):
            return None
        return self.normals.get(
            (area, day_type(at, self.comfort.holidays), at.astimezone(KST).hour)
        )

    def shape(self, area: str, at: datetime, walkable_m2: float) -> DailyShape | None:
        """The day type's hourly normal as density; None unless every hour is known."""
        if area not in self.calibrated or walkable_m2 <= 0 or not self.covers(at):
            return None
        kind = day_type(at, self.comfort.holidays)
        hourly = [self.normals.get((area, kind, h)) for h in range(24)]
        if any(n is None for n in hourly):
            return None
        return DailyShape(tuple(n.mean / walkable_m2 for n in hourly if n is not None))


def _normals(
    rows: Sequence[LabelledCount], holidays: frozenset[date]
) -> dict[tuple[str, DayType, int], Normal]:
    """Mean and spread per (area, day type, hour); an hour no day saw borrows the day
    type's mean of its neighbours so a shape has all 24 hours."""
    groups: dict[tuple[str, DayType, int], list[float]] = defaultdict(list)
    for r in rows:
        groups[(r.area, day_type(r.at, holidays), r.at.astimezone(KST).hour)].append(r.people)
    # The most each area held in each hour on any day: a stadium's game nights fall on
    # every day of the week, and a day type alone has seen too few of them.
    most: dict[tuple[str, int], float] = defaultdict(float)
    for (area, _kind, hour), values in groups.items():
        most[(area, hour)] = max(most[(area, hour)], *values)
    out: dict[tuple[str, DayType, int], Normal] = {}
    for key, values in groups.items():
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
        area, _, hour = key
        near = range(-HIGH_WITHIN_HOURS, HIGH_WITHIN_HOURS + 1)
        high = max(most.get((area, (hour + d) % 24), 0.0) for d in near)
        out[key] = Normal(mean, math.sqrt(var), len(values), high)
    for area in {r.area for r in rows}:
        for kind in DAY_TYPES:
            known = {h: out[(area, kind, h)] for h in range(24) if (area, kind, h) in out}
            if not known:
                continue
            for h in range(24):
                if h not in known:
                    out[(area, kind, h)] = _between(known, h)
    return out


def _between(known: Mapping[int, Normal], hour: int) -> Normal:
    """An unseen hour's normal on the straight line between the nearest seen hours before
    and after it (around midnight). The nearest hour alone was a step: a morning hour
    borrowing 08:00's count looked like a surge by 11:00 (bench/alert_quality.py)."""
    before = min(known, key=lambda k: (hour - k) % 24)  # nearest seen hour before
    after = min(known, key=lambda k: (k - hour) % 24)  # nearest seen hour after
    gap = ((after - before) % 24) or 24
    w = ((hour - before) % 24) / gap
    a, b = known[before], known[after]
    return Normal(a.mean + (b.mean - a.mean) * w, a.sd + (b.sd - a.sd) * w, 0, max(a.high, b.high))


def calibrated_areas(rows: Iterable[LabelledCount], policy: CalibrationPolicy) -> frozenset[str]:
    days: dict[str, set[date]] = defaultdict(set)
    count: Counter[str] = Counter()
    for r in rows:
        days[r.area].add(r.at.astimezone(KST).date())
        count[r.area] += 1
    return frozenset(
        a for a, d in days.items() if len(d) >= policy.min_days and count[a] >= policy.min_rows
    )


class Labeller(Protocol):
    def label(self, area: str, people: float, at: datetime) -> ComfortLabel | None: ...


def score_comfort(model: Labeller, rows: Iterable[LabelledCount]) -> ComfortScore:
    """Agreement with Seoul's label and Cohen's kappa over the rows the model can label."""
    hits, scored = 0, 0
    per_hit: Counter[str] = Counter()
    per_all: Counter[str] = Counter()
    guessed: Counter[str] = Counter()
    for row in rows:
        guess = model.label(row.area, row.people, row.at)
        if guess is None:
            continue  # area never seen in training
        scored += 1
        per_all[row.label] += 1
        guessed[guess] += 1
        if guess == row.label:
            hits += 1
            per_hit[row.label] += 1
    kappa: float | None = None
    if scored:
        p_o = hits / scored
        p_e = sum(per_all[c] * guessed[c] for c in COMFORT_LABELS) / scored**2
        kappa = (p_o - p_e) / (1 - p_e) if p_e < 1 else None
    return ComfortScore(hits, scored, dict(per_hit), dict(per_all), kappa)


def fit_calibration(
    history: Sequence[LabelledCount],
    fitted_at: datetime,
    policy: CalibrationPolicy | None = None,
    holidays: frozenset[date] = frozenset(),
) -> Calibration:
    """Fit on all of `history`; score a fit on all but the newest day against that day."""
    pol = policy or CalibrationPolicy()
    # The look-back counts from the newest labelled reading, not the clock: a recording
    # loaded by `citypulse backfill` calibrates however old it is.
    newest = max((r.at for r in history), default=fitted_at)
    rows = [r for r in history if (newest - r.at).total_seconds() <= pol.lookback_days * 86400]
    days = sorted({r.at.astimezone(KST).date() for r in rows})
    holdout: dict[str, Any] = {"days": 0, "rows": 0, "agreement": None, "kappa": None}
    if len(days) >= 2:
        last = days[-1]
        earlier = [r for r in rows if r.at.astimezone(KST).date() < last]
        later = [r for r in rows if r.at.astimezone(KST).date() == last]
        trained = calibrated_areas(earlier, pol)
        s = score_comfort(
            fit_comfort_calibration(
                [r for r in earlier if r.area in trained], pol.comfort, holidays
            ),
            later,
        )
        holdout = {"days": 1, "rows": s.scored, "agreement": s.agreement, "kappa": s.kappa}
    return Calibration(
        fitted_at=fitted_at,
        span_from=min((r.at for r in rows), default=None),
        span_to=max((r.at for r in rows), default=None),
        rows=len(rows),
        comfort=fit_comfort_calibration(rows, pol.comfort, holidays),
        normals=_normals(rows, holidays),
        calibrated=calibrated_areas(rows, pol),
        holdout=holdout,
    )


def model_to_json(cal: Calibration) -> dict[str, Any]:
    cfg = cal.comfort.config
    return {
        "config": [cfg.hour_radius, cfg.half_life_days, cfg.min_points, cfg.split_day_types],
        "holidays": sorted(d.isoformat() for d in cal.comfort.holidays),
        "slots": [[a, k, h, *c.lower_bounds] for (a, k, h), c in cal.comfort.slots.items()],
        "fallback": {a: list(c.lower_bounds) for a, c in cal.comfort.area_fallback.items()},
        "normals": [
            [a, k, h, n.mean, n.sd, n.samples, n.high] for (a, k, h), n in cal.normals.items()
        ],
        "calibrated": sorted(cal.calibrated),
    }


def model_from_json(
    doc: Mapping[str, Any],
    *,
    fit_id: int | None,
    fitted_at: datetime,
    span: tuple[datetime | None, datetime | None],
    rows: int,
    holdout: Mapping[str, Any],
) -> Calibration:
    radius, half_life, min_points, split = doc["config"]
    config = ComfortModelConfig(int(radius), half_life, int(min_points), bool(split))
    holidays = frozenset(date.fromisoformat(d) for d in doc["holidays"])
    slots = {(a, k, int(h)): ComfortCutoffs((x, y, z)) for a, k, h, x, y, z in doc["slots"]}
    fallback = {a: ComfortCutoffs((b[0], b[1], b[2])) for a, b in doc["fallback"].items()}
    # Fits stored before `high` existed have six fields: their high is unknown (0).
    normals = {
        (a, k, int(h)): Normal(m, s, int(n), float(rest[0]) if rest else 0.0)
        for a, k, h, m, s, n, *rest in doc["normals"]
    }
    return Calibration(
        fitted_at=fitted_at,
        span_from=span[0],
        span_to=span[1],
        rows=rows,
        comfort=ComfortCalibration(slots, fallback, config, holidays),
        normals=normals,
        calibrated=frozenset(doc["calibrated"]),
        holdout=dict(holdout),
        fit_id=fit_id,
    )


def with_calibration(state: AreaState, cal: Calibration | None, now: datetime) -> AreaState:
    """An area state told which calibration labelled it and how its count compares with
    the area's normal for this hour and day type. A fit whose history began after `now`
    cannot speak for it: the area says `uncalibrated` (Calibration.covers)."""
    if cal is None or not cal.covers(now):
        return state.model_copy(
            update={"comfort_source": UNCALIBRATED, "normal_people": None, "normal_sd": None,
                    "normal_ratio": None, "normal_high": None}
        )  # fmt: skip
    normal = cal.normal(state.area_code, now)
    usual = normal.mean if normal is not None and normal.mean > 0 else None
    return state.model_copy(
        update={
            "comfort_source": cal.source(state.area_code),
            "normal_people": usual,
            "normal_sd": normal.sd if usual is not None and normal is not None else None,
            "normal_ratio": state.people / usual if usual is not None else None,
            "normal_high": normal.high if usual is not None and normal and normal.high else None,
        }
    )
