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
from streams.crowd.density import IMPLAUSIBLE_DENSITY_PER_M2
from streams.crowd.forecast import DailyShape, Forecast, ForecastTracker
from streams.crowd.fusion import FusedCount, SourceKey, SourceReading, fuse_area, fuse_zone
from streams.crowd.plausibility import (
    CHANGE_ALLOWANCE_PER_M2,
    beyond_packing,
    jump,
    off_peers,
)
from streams.crowd.staleness import EXPECTED_CADENCE_S, STALE_AFTER_CADENCES
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
        self.latest: dict[SourceKey, SourceReading] = {}
        # Per source: its last plausible reading (what a jump is judged against) and,
        # while its latest reading jumped, why.
        self._last_plausible: dict[SourceKey, SourceReading] = {}
        self._jumped: dict[SourceKey, str] = {}
        self._contributors: frozenset[SourceKey] | None = None
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
        previous = self._last_plausible.get(key)
        reason = None
        # Within the allowance no time is needed: most readings stop here (every reading
        # of the fold passes through, bench/batch_cpu.py).
        if previous is not None and (
            abs(reading.people - previous.people) > CHANGE_ALLOWANCE_PER_M2 * self.walkable_m2
        ):
            reason = jump(previous, reading, self.walkable_m2)
        if reason is not None:
            self._jumped[key] = reason
        else:
            if self._jumped:
                self._jumped.pop(key, None)
            # beyond_packing's rule without building its reason (every reading comes here)
            if reading.people <= IMPLAUSIBLE_DENSITY_PER_M2 * self.walkable_m2:
                self._last_plausible[key] = reading
        if len(self.latest) > self.max_sources:
            oldest = min(self.latest, key=lambda k: self.latest[k].event_time)
            del self.latest[oldest]
            self._last_plausible.pop(oldest, None)
            self._jumped.pop(oldest, None)
        return True

    def implausible(self, now: datetime) -> dict[SourceKey, str]:
        """Why each implausible latest reading is judged so; plausible ones are absent."""
        out: dict[SourceKey, str] = {}
        for key, r in self.latest.items():
            reason = beyond_packing(r, self.walkable_m2) or self._jumped.get(key)
            if reason is not None:
                out[key] = reason
        if self.zone_id is not None:  # peers: the zone's other readings not already out
            left = {k: r for k, r in self.latest.items() if k not in out}
            for key, r in left.items():
                others = [o for k, o in left.items() if k != key]
                reason = off_peers(r, others, self.walkable_m2, now)
                if reason is not None:
                    out[key] = reason
        return out

    def fused(
        self, now: datetime, zones: Mapping[str, FusedCount] | None = None
    ) -> FusedCount | None:
        """Zone: weighted mean of its readings. Area: max(telecom, sum of zones).

        At area scope, visitor counts not sited in any zone stand for their sensor's
        vicinity, a zone of their own inside the area.
        """
        return self._fused(now, zones, self.implausible(now))

    def _fused(
        self,
        now: datetime,
        zones: Mapping[str, FusedCount] | None,
        implausible: Mapping[SourceKey, str],
    ) -> FusedCount | None:
        if self.zone_id is not None:
            return fuse_zone(self.latest.values(), now, implausible=implausible)
        telecoms = [r for r in self.latest.values() if r.source == "telecom"]
        telecom = max(telecoms, key=lambda r: r.event_time) if telecoms else None
        all_zones = dict(zones or {})
        for r in self.latest.values():
            if r.source != "telecom":
                vicinity = fuse_zone([r], now, implausible=implausible)
                if vicinity is not None:
                    all_zones.setdefault(f"{r.source}:{r.source_id}", vicinity)
        telecom_plausible = (
            telecom is None or (telecom.source, telecom.source_id) not in implausible
        )
        return fuse_area(telecom, all_zones, now, telecom_plausible=telecom_plausible)

    def _follow_sources(self, fused: FusedCount) -> None:
        """Start the trend afresh after a start, an outage or a change of sources: a
        slope across a step in who is counted, or across a hole, would be invented."""
        restart = fused.stale or fused.contributors != self._contributors
        if self.history.newest is not None and fused.contributors:
            cadence = min(EXPECTED_CADENCE_S[kind] for kind, _ in fused.contributors)
            gap = (fused.as_of - self.history.newest).total_seconds()
            restart = restart or gap > STALE_AFTER_CADENCES * cadence
        if restart:
            self.history.restart(fused.as_of)
        self._contributors = None if fused.stale else fused.contributors

    def update(
        self,
        now: datetime,
        thresholds: ResolvedThresholds,
        zones: Mapping[str, FusedCount] | None = None,
        comfort: ComfortCalibration | None = None,
        shape: DailyShape | None = None,
    ) -> AreaState | None:
        """The next state for this key, or None while no source has ever reported."""
        implausible = self.implausible(now)
        fused = self._fused(now, zones, implausible)
        if fused is None:
            return None
        density = fused.people / self.walkable_m2
        self._follow_sources(fused)
        if fused.plausible and density <= IMPLAUSIBLE_DENSITY_PER_M2:
            self.history.remember(fused.as_of, density)
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
            implausible=tuple(implausible[k] for k in sorted(implausible)),
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
