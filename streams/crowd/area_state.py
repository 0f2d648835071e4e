"""Assemble the AreaState message for one area or zone from the crowd-math pieces.

Order: density from the fused count; the stage from the resolved thresholds, held at
or above the last stage while stale; the comfort level (never while stale); trend and
forecast from the recent density history. Pure: `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Literal

from citypulse.domain.area_state import AreaState, ForecastPoint, SourceKind, stage_name
from citypulse.domain.comfort import ComfortLabel
from citypulse.domain.stages import Stage
from citypulse.domain.thresholds import ResolvedThresholds
from streams.crowd.comfort import COMFORT_LABELS, ComfortCalibration, comfort_rank
from streams.crowd.density import IMPLAUSIBLE_DENSITY_PER_M2, density_per_m2
from streams.crowd.forecast import DailyShape, forecast_density
from streams.crowd.fusion import FusedCount
from streams.crowd.staleness import (
    STALE_AFTER_CADENCES,
    guarded_stage,
    is_scope_stale,
    is_source_stale,
)
from streams.crowd.trend import NOT_READY, DensityHistory, read_trend


def _freshest_ages(fused: FusedCount) -> dict[SourceKind, float | None]:
    ages: dict[SourceKind, float | None] = {}
    for c in fused.sources:
        held = ages.get(c.source)
        ages[c.source] = c.age_s if held is None else min(held, c.age_s)
    return ages


def _comfort(
    scope: Literal["area", "zone"],
    area_code: str,
    fused: FusedCount,
    calibration: ComfortCalibration | None,
    now: datetime,
) -> ComfortLabel | None:
    """The higher of Seoul's own label and the calibrated one; zones have no calibration."""
    labels: list[ComfortLabel] = []
    if fused.official_label is not None:
        labels.append(fused.official_label)
    if scope == "area" and calibration is not None:
        calibrated = calibration.label(area_code, fused.people, now)
        if calibrated is not None:
            labels.append(calibrated)
    if not labels:
        return None
    return COMFORT_LABELS[max(comfort_rank(label) for label in labels)]


def build_area_state(
    *,
    scope: Literal["area", "zone"],
    area_code: str,
    fused: FusedCount,
    walkable_m2: float,
    thresholds: ResolvedThresholds,
    now: datetime,
    history: Iterable[tuple[datetime, float]] = (),
    seq: int = 0,
    zone_id: str | None = None,
    last_stage: Stage | None = None,
    comfort: ComfortCalibration | None = None,
    shape: DailyShape | None = None,
    required_sources: Iterable[SourceKind] = (),
    stale_after_cadences: float = STALE_AFTER_CADENCES,
    forecast_skill: Mapping[int, tuple[float | None, int]] | None = None,
    implausible: tuple[str, ...] = (),
) -> AreaState:
    """`history` holds recent (event time, density) points, the current one included,
    since the last start, outage or change of sources; `forecast_skill` the (mean
    absolute error, forecasts scored) per horizon so far; `implausible` why inputs were
    judged implausible (they are left out of `fused` already)."""
    density = density_per_m2(fused.people, walkable_m2)
    plausible = density.plausible and fused.plausible
    if not density.plausible:
        limit = IMPLAUSIBLE_DENSITY_PER_M2
        implausible = (*implausible, f"beyond packing: {density.per_m2:.3g}/m² > {limit:g}/m²")
    elif not fused.plausible and not implausible:
        implausible = ("no plausible input",)
    required = tuple(required_sources)
    ages = _freshest_ages(fused)
    stale = fused.stale or (bool(required) and is_scope_stale(ages, required, stale_after_cadences))
    silent = tuple(s for s in required if is_source_stale(s, ages.get(s), stale_after_cadences))
    if plausible:
        stage = guarded_stage(thresholds.stage(density.per_m2), last_stage, stale)
    else:  # nothing true to judge by: hold the last stage, neither up nor down
        stage = last_stage if last_stage is not None else Stage.NORMAL
    points = history if isinstance(history, DensityHistory) else list(history)
    trend = read_trend(points, now) if plausible and not stale else NOT_READY
    ready, slope, agreement = trend.ready, trend.per_min, trend.agreement
    skill = forecast_skill or {}
    forecast: tuple[ForecastPoint, ...] = ()
    # A forecast from a silent feed, an unready trend or an impossible density would
    # extrapolate what nobody measured.
    if ready:
        forecast = tuple(
            ForecastPoint(
                horizon_min=f.horizon_min,
                density_per_m2=f.density_per_m2,
                stage=stage_name(thresholds.stage(f.density_per_m2)),
                mae_per_m2=skill.get(f.horizon_min, (None, 0))[0],
                scored=skill.get(f.horizon_min, (None, 0))[1],
            )
            for f in forecast_density(density.per_m2, slope, now, shape=shape)
        )
    return AreaState(
        scope=scope,
        area_code=area_code,
        zone_id=zone_id,
        as_of=fused.as_of,
        people=fused.people,
        people_min=fused.people_min,
        people_max=fused.people_max,
        walkable_m2=walkable_m2,
        density_per_m2=density.per_m2,
        density_plausible=plausible,
        implausible=implausible,
        stage=stage_name(stage),
        stage_ko=stage.label_ko,
        comfort_level=None
        if stale or not plausible
        else _comfort(scope, area_code, fused, comfort, now),
        trend_per_min=slope,
        trend_ready=ready,
        trend_agreement=agreement,
        forecast=forecast,
        sources=fused.sources,
        stale=stale,
        silent_sources=silent if stale else (),
        seq=seq,
    )
