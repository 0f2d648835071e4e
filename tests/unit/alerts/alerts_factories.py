"""Factories shared by the alert tests: AreaStates at offsets from a fixed event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from citypulse.domain.area_state import AreaState, ForecastPoint

# 2022-12-31 20:00 KST, a New Year's Eve evening.
T0 = datetime(2022, 12, 31, 11, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_state(
    t_s: float,
    density: float,
    *,
    area: str = "POI009",
    zone: str | None = None,
    trend: float | None = None,
    forecast: tuple[tuple[int, float], ...] = (),
    stale: bool = False,
    seq: int | None = None,
    walkable_m2: float = 10_000.0,
    trend_ready: bool = True,
    trend_agreement: float | None = None,
    density_plausible: bool = True,
    implausible: tuple[str, ...] = (),
) -> AreaState:
    return AreaState(
        scope="area" if zone is None else "zone",
        area_code=area,
        zone_id=zone,
        as_of=at(t_s),
        people=density * walkable_m2,
        walkable_m2=walkable_m2,
        density_per_m2=density,
        stage="normal",  # the engine applies its own thresholds
        stage_ko="정상",
        trend_per_min=trend,
        forecast=tuple(
            ForecastPoint(horizon_min=h, density_per_m2=d, stage="normal") for h, d in forecast
        ),
        stale=stale,
        seq=int(t_s) if seq is None else seq,
        trend_ready=trend_ready,
        trend_agreement=trend_agreement,
        density_plausible=density_plausible,
        implausible=implausible,
    )
