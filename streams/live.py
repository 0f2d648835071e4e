"""Live per-area and per-zone state held by one worker for the areas of its partitions.

Bounded: one small record per area and zone, whatever the run time. The crowd math
(fusion, stages, trend, staleness) lives in `streams.crowd`; this module only keeps the
latest inputs and hands them over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sensors.events import CityEvent, EnvironmentReading, PopulationEstimate, ZoneCount
from sensors.registry import Hotspot
from streams.crowd.stages import stage_for_density
from streams.crowd.state import AreaState, SourceContribution, SourceKind, stage_name


@dataclass
class _Latest:
    people: float
    as_of: datetime
    people_min: float | None = None
    people_max: float | None = None
    walkable_m2: float = 0.0
    comfort: str | None = None


@dataclass
class LiveStates:
    hotspots: Mapping[str, Hotspot]
    _telecom: dict[str, _Latest] = field(default_factory=dict)
    _zones: dict[tuple[str, str], _Latest] = field(default_factory=dict)
    _seq: dict[str, int] = field(default_factory=dict)

    def apply(self, events: Iterable[CityEvent]) -> set[tuple[str, str | None]]:
        """Take events in order; return the (area, zone) keys whose state changed."""
        changed: set[tuple[str, str | None]] = set()
        for e in events:
            if isinstance(e, PopulationEstimate):
                cur = self._telecom.get(e.area_code)
                if cur is None or e.event_time >= cur.as_of:
                    self._telecom[e.area_code] = _Latest(
                        e.people,
                        e.event_time,
                        e.people_min,
                        e.people_max,
                        self.hotspots[e.area_code].walkable_m2,
                        e.congestion_level,
                    )
                    changed.add((e.area_code, None))
            elif isinstance(e, ZoneCount):
                zkey = (e.area_code, e.zone_id)
                zcur = self._zones.get(zkey)
                if zcur is None or e.event_time >= zcur.as_of:
                    self._zones[zkey] = _Latest(
                        float(e.count), e.event_time, walkable_m2=e.walkable_m2
                    )
                    changed.add((e.area_code, e.zone_id))
            elif isinstance(e, EnvironmentReading):
                continue
        return changed

    def keys(self) -> set[tuple[str, str | None]]:
        area_keys: set[tuple[str, str | None]] = {(a, None) for a in self._telecom}
        return area_keys | {(a, z) for a, z in self._zones}

    def state(self, area_code: str, zone_id: str | None, now_ms: int) -> AreaState | None:
        latest = (
            self._telecom.get(area_code)
            if zone_id is None
            else self._zones.get((area_code, zone_id))
        )
        if latest is None:
            return None
        key = area_code if zone_id is None else f"{area_code}/{zone_id}"
        # Strictly increasing per key, also across worker restarts (wall-clock based).
        seq = max(self._seq.get(key, 0) + 1, now_ms)
        self._seq[key] = seq
        density = latest.people / latest.walkable_m2
        stage = stage_for_density(density)
        source: SourceKind = "telecom" if zone_id is None else "zone_counter"
        return AreaState(
            scope="area" if zone_id is None else "zone",
            area_code=area_code,
            zone_id=zone_id,
            as_of=latest.as_of,
            people=latest.people,
            people_min=latest.people_min,
            people_max=latest.people_max,
            walkable_m2=latest.walkable_m2,
            density_per_m2=round(density, 4),
            stage=stage_name(stage),
            stage_ko=stage.label_ko,
            comfort_level=latest.comfort,  # type: ignore[arg-type]
            sources=(
                SourceContribution(source=source, people=latest.people, weight=1.0, age_s=0.0),
            ),
            seq=seq,
        )
