"""Raise and clear conditions of each rule for one AreaState, per candidate level."""

from __future__ import annotations

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


def _forecast(rules: RuleSet, state: AreaState, levels: Sequence[Stage]) -> LevelConditions:
    f = rules.forecast
    if not state.trend_ready:  # too few points since a start or a change: unknown
        return _one(levels, raise_=False, clear=False)
    bound = rules.stage.thresholds.lower_bound(f.target_stage)
    peak = forecast_peak(state, f.within_min)
    if peak is None:  # no forecast within the horizon: nothing says it will cross
        return _one(levels, raise_=False, clear=True)
    return _one(levels, raise_=peak[1] >= bound, clear=peak[1] < bound - f.clear_margin_per_m2)
