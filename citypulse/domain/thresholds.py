"""Which stage thresholds apply to an area or zone at a given time.

Resolution, most specific first: the zone's own thresholds, else the area's, else the
default. An event-day profile (festival, fireworks, countdown) active at `now` and
covering the area or zone then makes them stricter, boundary by boundary: it can lower
a threshold but never relax a stricter zone such as a narrow alley.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from citypulse.domain.stages import DEFAULT_THRESHOLDS, Stage, StageThresholds, stage_for_density


def stricter(a: StageThresholds, b: StageThresholds) -> StageThresholds:
    """Boundary-wise minimum; the minimum of two increasing sequences is increasing."""
    return StageThresholds(
        attention=min(a.attention, b.attention),
        caution=min(a.caution, b.caution),
        alert=min(a.alert, b.alert),
        serious=min(a.serious, b.serious),
    )


@dataclass(frozen=True)
class EventDayProfile:
    """Stricter thresholds for a planned event, active in [start, end)."""

    name: str
    start: datetime
    end: datetime
    thresholds: StageThresholds
    area_codes: frozenset[str] = frozenset()  # empty: every area
    zones: frozenset[tuple[str, str]] = frozenset()  # (area, zone); empty: all zones
    # The crowd the event is planned for (a venue's capacity); None: not declared.
    expected_people: float | None = None

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"event profile {self.name!r} ends before it starts")
        if self.expected_people is not None and not self.expected_people > 0:
            raise ValueError(f"event profile {self.name!r}: expected_people must be > 0")

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def covers_zone(self, area_code: str, zone_id: str | None) -> bool:
        """True unless the profile is limited to zones and this key is not one of them."""
        return not self.zones or (zone_id is not None and (area_code, zone_id) in self.zones)

    def covers(self, area_code: str, zone_id: str | None) -> bool:
        listed = not self.area_codes or area_code in self.area_codes
        return listed and self.covers_zone(area_code, zone_id)

    def applies(self, area_code: str, zone_id: str | None, now: datetime) -> bool:
        return self.active(now) and self.covers(area_code, zone_id)


@dataclass(frozen=True)
class ResolvedThresholds:
    thresholds: StageThresholds
    origin: str  # "default", "area", "zone", plus "+event:<name>" per active profile

    def stage(self, density: float) -> Stage:
        return stage_for_density(density, self.thresholds)


@dataclass(frozen=True)
class ThresholdBook:
    default: StageThresholds = DEFAULT_THRESHOLDS
    per_area: Mapping[str, StageThresholds] = field(default_factory=dict)
    per_zone: Mapping[tuple[str, str], StageThresholds] = field(default_factory=dict)
    events: tuple[EventDayProfile, ...] = ()

    def resolve(self, area_code: str, zone_id: str | None, now: datetime) -> ResolvedThresholds:
        base, origin = self.default, "default"
        if area_code in self.per_area:
            base, origin = self.per_area[area_code], "area"
        if zone_id is not None and (area_code, zone_id) in self.per_zone:
            base, origin = self.per_zone[(area_code, zone_id)], "zone"
        for profile in self.events:
            if profile.applies(area_code, zone_id, now):
                base = stricter(base, profile.thresholds)
                origin += f"+event:{profile.name}"
        return ResolvedThresholds(base, origin)
