"""Live per-area and per-zone state held by one worker for the areas of its partitions.

Bounded: one AreaTracker per area and per zone seen, each with fixed-size memory. The
crowd math (fusion, stages, trend, forecast, staleness) lives in `streams.crowd`; this
module only routes readings to trackers and asks them for states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from citypulse.domain.area_state import AreaState
from citypulse.domain.thresholds import ThresholdBook
from sensors.events import EnvironmentReading, PopulationEstimate, ZoneCount
from sensors.lean import LeanPopulationEstimate, LeanZoneCount
from sensors.registry import Hotspot
from streams.batch import WorkerEvent
from streams.calibration import Calibration, with_calibration
from streams.crowd.fusion import (
    reading_from_population,
    reading_from_visitor_count,
    reading_from_zone_count,
)
from streams.crowd.tracker import AreaTracker

Key = tuple[str, str | None]  # (area, zone or None for the whole area)
# Either door's events (sensors.events, sensors.lean).
POPULATION = (LeanPopulationEstimate, PopulationEstimate)
ZONE = (LeanZoneCount, ZoneCount)


@dataclass
class LiveStates:
    hotspots: Mapping[str, Hotspot]
    thresholds: ThresholdBook = field(default_factory=ThresholdBook)
    calibration: Calibration | None = None  # the newest fit, loaded by the worker
    _areas: dict[str, AreaTracker] = field(default_factory=dict)
    _zones: dict[tuple[str, str], AreaTracker] = field(default_factory=dict)
    _zones_of: dict[str, dict[str, AreaTracker]] = field(default_factory=dict)  # by area

    def _area(self, code: str) -> AreaTracker:
        tracker = self._areas.get(code)
        if tracker is None:
            tracker = AreaTracker(
                code, self.hotspots[code].walkable_m2, required_sources=("telecom",)
            )
            self._areas[code] = tracker
        return tracker

    def apply(
        self, events: Sequence[WorkerEvent], times: Sequence[datetime] | None = None
    ) -> set[Key]:
        """Take events in order; return the keys whose state may have changed. `times`:
        each event's time in UTC, index for index, when the caller has them (the batch
        does): they order the events at a fifth of the cost of their own times."""
        changed: set[Key] = set()
        newest, walkable = _newest_per_source(
            events, times if times is not None else [e.event_time for e in events]
        )
        for e in newest.values():
            if isinstance(e, POPULATION):
                if self._area(e.area_code).observe(reading_from_population(e)):
                    changed.add((e.area_code, None))
            elif isinstance(e, ZONE):
                # The area's own state too: its zones are a floor for its count, and with
                # no telecom estimate yet (a feed down since the start) the area must read
                # as stale, not be missing and so never raise a data gap.
                if e.area_code in self.hotspots:
                    self._area(e.area_code)
                zkey = (e.area_code, e.zone_id)
                zone = self._zones.get(zkey)
                if zone is None:
                    zone = AreaTracker(e.area_code, e.walkable_m2, zone_id=e.zone_id,
                                       required_sources=("zone_counter",))  # fmt: skip
                    self._zones[zkey] = zone
                    self._zones_of.setdefault(e.area_code, {})[e.zone_id] = zone
                zone.walkable_m2 = walkable[zkey]
                if zone.observe(reading_from_zone_count(e)):
                    changed |= {(e.area_code, e.zone_id), (e.area_code, None)}
            elif isinstance(e, EnvironmentReading) and e.area_code is not None:
                reading = reading_from_visitor_count(e)
                if reading is not None and self._area(e.area_code).observe(reading):
                    changed.add((e.area_code, None))
        return changed

    def keys(self) -> set[Key]:
        area_keys: set[Key] = {(a, None) for a in self._areas}
        return area_keys | {(a, z) for a, z in self._zones}

    def state(self, area_code: str, zone_id: str | None, now: datetime) -> AreaState | None:
        tracker = (
            self._areas.get(area_code) if zone_id is None else self._zones.get((area_code, zone_id))
        )
        if tracker is None:
            return None
        # Sequence numbers follow the wall clock so they keep rising across restarts.
        tracker.seq = max(tracker.seq, int(now.timestamp() * 1000) - 1)
        thresholds = self.thresholds.resolve(area_code, zone_id, now)
        if zone_id is not None:
            return tracker.update(now, thresholds)
        fused = {z: t.fused(now) for z, t in self._zones_of.get(area_code, {}).items()}
        zones = {z: f for z, f in fused.items() if f is not None}
        cal = self.calibration
        if cal is not None and not cal.covers(now):
            cal = None  # fitted on later history: nothing fair to say about now
        state = tracker.update(
            now, thresholds, zones=zones,
            comfort=cal.comfort_for(area_code) if cal else None,
            shape=cal.shape(area_code, now, tracker.walkable_m2) if cal else None,
        )  # fmt: skip
        return None if state is None else with_calibration(state, cal, now)


SourceKey = tuple[str, str | None, str, str]  # area, zone, source kind, source id
Observable = (
    PopulationEstimate | LeanPopulationEstimate | ZoneCount | LeanZoneCount | EnvironmentReading
)


def _newest_per_source(
    events: Sequence[WorkerEvent], times: Sequence[datetime]
) -> tuple[dict[SourceKey, Observable], dict[tuple[str, str], float]]:
    """The newest event of each source (the later one on a tie), and each zone's walkable
    area as its last event gives it.

    A tracker keeps only the newest reading per source, so the rest of a batch could not
    change it: reducing a 5,000-event batch to a few hundred readings first gives the
    same trackers and changed keys for a fraction of the work.
    """
    newest: dict[SourceKey, tuple[datetime, Observable]] = {}
    walkable: dict[tuple[str, str], float] = {}
    for e, at in zip(events, times, strict=True):
        key: SourceKey
        # The fast door's types first, by identity: isinstance() against a pydantic model
        # class raises and catches an AttributeError inside for any other object (about
        # 1,500 instructions an event; bench/batch_cpu.py --instructions).
        if type(e) is LeanZoneCount or (
            type(e) is not LeanPopulationEstimate and isinstance(e, ZONE)
        ):
            area, zone = e.area_code, e.zone_id
            key = (area, zone, "zone_counter", e.counter_id)
            walkable[(area, zone)] = e.walkable_m2
        elif type(e) is LeanPopulationEstimate or isinstance(e, POPULATION):
            key = (e.area_code, None, "telecom", e.source)
        elif (
            isinstance(e, EnvironmentReading)
            and e.area_code is not None
            and e.visitor_count is not None
        ):
            key = (e.area_code, None, "visitor_count", e.sensor_id)
        else:
            continue
        held = newest.get(key)  # one look-up and one store per event
        if held is None or at >= held[0]:
            newest[key] = (at, e)
    return {key: e for key, (_, e) in newest.items()}, walkable


class PublishLedger:
    """When each key's state was last published, so the periodic refresh resends only the
    keys nothing has published lately (a busy city changes every key every tick)."""

    def __init__(self) -> None:
        self._at: dict[Key, float] = {}  # bounded by the registry's areas and zones

    def published(self, keys: Iterable[Key], at: float) -> None:
        for key in keys:
            self._at[key] = at

    def due(self, keys: Iterable[Key], at: float, every: float) -> set[Key]:
        """The keys not published within `every` seconds before `at`."""
        return {k for k in keys if at - self._at.get(k, float("-inf")) >= every}
