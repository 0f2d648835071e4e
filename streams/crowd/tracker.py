"""Bounded per-area (or per-zone) memory the stream worker keeps between events.

Holds the latest reading of each source, a short density history for the trend, the
last stage and the sequence number, and a forecast scorer. Every container has a fixed
bound, so memory does not grow with run time. Pure: `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from citypulse.domain.area_state import AreaState, SourceKind
from citypulse.domain.stages import Stage
from citypulse.domain.thresholds import ResolvedThresholds
from streams.crowd.area_state import build_area_state
from streams.crowd.comfort import ComfortCalibration
from streams.crowd.forecast import DailyShape, Forecast, ForecastTracker
from streams.crowd.fusion import FusedCount, SourceReading, fuse_area, fuse_zone
from streams.crowd.trend import DensityHistory

HISTORY_POINTS = 60  # distinct input slots: 30 minutes at the spacing, twice the trend window
# Inputs closer than this share one trend point (the newest wins): a 1 Hz counter would
# otherwise fill the history in two minutes and make the trend cost O(points²) per state.
HISTORY_SPACING_S = 30.0
MAX_SOURCES = 64  # counters and sensors per area or zone; the oldest silent one is dropped


class AreaTracker:
    def __init__(
        self,
        area_code: str,
        walkable_m2: float,
        zone_id: str | None = None,
        required_sources: tuple[SourceKind, ...] = (),
        history_points: int = HISTORY_POINTS,
        max_sources: int = MAX_SOURCES,
    ) -> None:
        self.area_code = area_code
        self.zone_id = zone_id
        self.walkable_m2 = walkable_m2
        self.required_sources = required_sources
        self.max_sources = max_sources
        self.latest: dict[tuple[SourceKind, str], SourceReading] = {}
        self.history = DensityHistory(history_points, timedelta(seconds=HISTORY_SPACING_S))
        self.forecasts = ForecastTracker()
        self.last_stage: Stage | None = None
        self.seq = 0

    def observe(self, reading: SourceReading) -> bool:
        """Keep the reading if it is the newest of its source; False if it is older."""
        key = (reading.source, reading.source_id)
        held = self.latest.get(key)
        if held is not None and held.event_time > reading.event_time:
            return False
        self.latest[key] = reading
        if len(self.latest) > self.max_sources:
            oldest = min(self.latest, key=lambda k: self.latest[k].event_time)
            del self.latest[oldest]
        return True

    def fused(
        self, now: datetime, zones: Mapping[str, FusedCount] | None = None
    ) -> FusedCount | None:
        """Zone: weighted mean of its readings. Area: max(telecom, sum of zones).

        At area scope, visitor counts not sited in any zone stand for their sensor's
        vicinity, a zone of their own inside the area.
        """
        if self.zone_id is not None:
            return fuse_zone(self.latest.values(), now)
        telecoms = [r for r in self.latest.values() if r.source == "telecom"]
        telecom = max(telecoms, key=lambda r: r.event_time) if telecoms else None
        all_zones = dict(zones or {})
        for r in self.latest.values():
            if r.source != "telecom":
                vicinity = fuse_zone([r], now)
                if vicinity is not None:
                    all_zones.setdefault(f"{r.source}:{r.source_id}", vicinity)
        return fuse_area(telecom, all_zones, now)

    def _remember(self, at: datetime, density: float) -> None:
        self.history.remember(at, density)

    def update(
        self,
        now: datetime,
        thresholds: ResolvedThresholds,
        zones: Mapping[str, FusedCount] | None = None,
        comfort: ComfortCalibration | None = None,
        shape: DailyShape | None = None,
    ) -> AreaState | None:
        """The next state for this key, or None while no source has ever reported."""
        fused = self.fused(now, zones)
        if fused is None:
            return None
        density = fused.people / self.walkable_m2
        self._remember(fused.as_of, density)
        self.forecasts.observe(fused.as_of, density)
        state = build_area_state(
            scope="area" if self.zone_id is None else "zone",
            area_code=self.area_code,
            zone_id=self.zone_id,
            fused=fused,
            walkable_m2=self.walkable_m2,
            thresholds=thresholds,
            now=now,
            history=self.history,
            seq=self.seq + 1,
            last_stage=self.last_stage,
            comfort=comfort,
            shape=shape,
            required_sources=self.required_sources,
            forecast_skill=self.forecasts.skill(),
        )
        self.seq = state.seq
        self.last_stage = state.stage_enum
        self.forecasts.record(
            [
                Forecast(p.horizon_min, now + timedelta(minutes=p.horizon_min), p.density_per_m2)
                for p in state.forecast
            ]
        )
        return state
