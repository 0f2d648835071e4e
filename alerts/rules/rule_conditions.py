"""Raise and clear conditions of each rule for one AreaState, per candidate level."""

from __future__ import annotations

import math
from collections.abc import Sequence

from alerts.rules.above_normal import above_normal_conditions
from alerts.rules.config import RuleKind, RuleSet
from alerts.rules.levels import LevelConditions
from citypulse.domain.area_state import AreaState
from citypulse.domain.stages import Stage


def forecast_peak(state: AreaState, within_min: int) -> tuple[int, float] | None:
    """(horizon, density) of the highest forecast point within `within_min` minutes."""
    points = [p for p in state.forecast if 0 < p.horizon_min <= within_min]
    if not points:
        return None
    top = max(points, key=lambda p: (p.density_per_m2, -p.horizon_min))
    return top.horizon_min, top.density_per_m2


def conditions_for(
    rule: RuleKind, rules: RuleSet, state: AreaState, levels: Sequence[Stage]
) -> LevelConditions:
    if rule is RuleKind.STAGE:
        return _stage(rules, state, levels)
    if rule is RuleKind.RATE_OF_RISE:
        return _rate_of_rise(rules, state, levels)
    if rule is RuleKind.FORECAST:
        return _forecast(rules, state, levels)
    if rule is RuleKind.DATA_QUALITY:
        bad = implausible(state)
        return _one(levels, raise_=bad, clear=not bad)
    if rule is RuleKind.ABOVE_NORMAL:
        return above_normal_conditions(rules.above_normal, state, levels)
    return _one(levels, raise_=state.stale, clear=not state.stale)


def implausible(state: AreaState) -> bool:
    """The worker judged an input, or the density itself, implausible."""
    return bool(state.implausible) or not state.density_plausible


def _one(levels: Sequence[Stage], raise_: bool, clear: bool) -> LevelConditions:
    return LevelConditions(
        raise_={lvl: raise_ for lvl in levels}, clear={lvl: clear for lvl in levels}
    )


def _stage(rules: RuleSet, state: AreaState, levels: Sequence[Stage]) -> LevelConditions:
    # Thresholds come from the alert policy (area, zone, event day), not from the stage
    # the stream worker put on the state, so overrides and profiles apply here.
    t, d, margin = rules.stage.thresholds, state.density_per_m2, rules.stage.clear_margin_per_m2
    return LevelConditions(
        raise_={lvl: d >= t.lower_bound(lvl) for lvl in levels},
        clear={lvl: d < t.lower_bound(lvl) - margin for lvl in levels},
    )


def _rate_of_rise(rules: RuleSet, state: AreaState, levels: Sequence[Stage]) -> LevelConditions:
    r, trend = rules.rate_of_rise, state.trend_per_min
    if trend is None or not state.trend_ready:  # unknown trend: neither raise nor clear
        return _one(levels, raise_=False, clear=False)
    rising = trend >= r.rise_per_min and state.density_per_m2 >= r.min_density_per_m2
    return _one(levels, raise_=rising, clear=trend < r.clear_below_per_min)


def minutes_to_cross(state: AreaState, bound: float) -> float | None:
    """Minutes until the density reaches `bound` if it keeps rising at its current trend;
    None when it is not rising, its trend is not ready, or it is there already (then the
    stage rule speaks, not a warning)."""
    trend = state.trend_per_min
    if state.density_per_m2 >= bound or trend is None or not state.trend_ready or trend <= 0:
        return None
    return (bound - state.density_per_m2) / trend


def warning_point(state: AreaState, rules: RuleSet) -> tuple[int, float] | None:
    """(minutes, density) a forecast warning reports: the published forecast's peak,
    unless only the steady rise's straight line reaches the target in time; then when
    the line reaches it, and the target's bound (the text must not name a density below
    the 심각 it warns of)."""
    f = rules.forecast
    peak = forecast_peak(state, f.within_min)
    bound = rules.stage.thresholds.lower_bound(f.target_stage)
    if peak is not None and peak[1] >= bound:
        return peak
    steady = state.trend_agreement is not None and state.trend_agreement >= f.line_min_agreement
    crossing = minutes_to_cross(state, bound) if f.straight_line and steady else None
    if state.trend_ready and crossing is not None and crossing <= f.within_min:
        return max(1, math.ceil(crossing)), bound
    return peak


def _forecast(rules: RuleSet, state: AreaState, levels: Sequence[Stage]) -> LevelConditions:
    f = rules.forecast
    if not state.trend_ready:  # too few points since a start or a change: unknown
        return _one(levels, raise_=False, clear=False)
    bound = rules.stage.thresholds.lower_bound(f.target_stage)
    peak = forecast_peak(state, f.within_min)
    peak_density = peak[1] if peak is not None else None
    # The published forecast damps the trend (crowds rarely keep rising for half an
    # hour), which caps how early it can see a steady climb: about 15 minutes ahead on
    # a 60- or 120-minute ramp to 심각. A rise that holds its pace is also projected on
    # its straight line (bench/alert_quality.py: 20 minutes needed on those ramps).
    steady = state.trend_agreement is not None and state.trend_agreement >= f.line_min_agreement
    crossing = minutes_to_cross(state, bound) if f.straight_line and steady else None
    by_line = crossing is not None and crossing <= f.within_min
    by_peak = peak_density is not None and peak_density >= bound
    # At or above the target the warning has come true: it stays until the peak clears.
    line_clear = state.density_per_m2 < bound and (
        crossing is None or crossing > f.within_min + f.clear_after_extra_min
    )
    peak_clear = peak_density is None or peak_density < bound - f.clear_margin_per_m2
    return _one(levels, raise_=by_peak or by_line, clear=peak_clear and line_clear)
