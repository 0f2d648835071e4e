"""Fuse people counts from several sources into one number that shows its source mix.

Zone: the zone's counters and the Wi-Fi visitor counts assigned to it all estimate the
same head count, so the zone figure is their weighted mean. Each weight is
base x confidence x freshness, where freshness is 1 within one expected cadence and
halves with every further cadence; once any fresh reading exists, stale ones weigh 0.

Area: the telecom estimate is the only area-wide count; zones lie inside the area, so
the sum of their (fresh) counts is a floor for it. The area figure is the larger of the
two: a crush reported by zone counters is not averaged away by a 5-minute telecom
estimate over a large polygon, and a slow telecom feed cannot understate the area.

Pure: every age is measured from a `now` passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from citypulse.domain.area_state import SourceContribution, SourceKind
from citypulse.domain.comfort import ComfortLabel
from sensors.events import EnvironmentReading, PopulationEstimate, ZoneCount
from sensors.lean import LeanPopulationEstimate, LeanZoneCount
from streams.crowd.staleness import (
    EXPECTED_CADENCE_S,
    STALE_AFTER_CADENCES,
    age_s,
    is_source_stale,
)

# Wi-Fi probes miss phones with Wi-Fi off and count passers-by: half a counter's trust.
BASE_WEIGHT: dict[SourceKind, float] = {"telecom": 1.0, "zone_counter": 1.0, "visitor_count": 0.5}


@dataclass(frozen=True)
class SourceReading:
    """The latest value of one input (one counter, one sensor, or the telecom feed)."""

    source: SourceKind
    source_id: str
    people: float
    event_time: datetime
    confidence: float = 1.0
    zone_id: str | None = None
    people_min: float | None = None
    people_max: float | None = None
    official_label: ComfortLabel | None = None


def reading_from_population(event: PopulationEstimate | LeanPopulationEstimate) -> SourceReading:
    return SourceReading(
        "telecom",
        event.source,
        event.people,
        event.event_time,
        # Seoul's substituted values (REPLACE_YN) are a model's guess, not a measurement.
        confidence=0.5 if event.replaced else 1.0,
        people_min=float(event.people_min),
        people_max=float(event.people_max),
        official_label=event.congestion_level,
    )


def reading_from_zone_count(event: ZoneCount | LeanZoneCount) -> SourceReading:
    return SourceReading(
        "zone_counter",
        event.counter_id,
        float(event.count),
        event.event_time,
        confidence=event.confidence,
        zone_id=event.zone_id,
    )


def reading_from_visitor_count(
    event: EnvironmentReading, zone_id: str | None = None
) -> SourceReading | None:
    """None when the reading carries no visitor count; `zone_id` from the sensor's siting."""
    if event.visitor_count is None:
        return None
    return SourceReading(
        "visitor_count",
        event.sensor_id,
        float(event.visitor_count),
        event.event_time,
        zone_id=zone_id,
    )


def freshness(source: SourceKind, age: float) -> float:
    """1 within one cadence, then halving with each further cadence. Weighs readings
    only once every one of them is stale; a fresh reading weighs in full until stale."""
    cadences = age / EXPECTED_CADENCE_S[source]
    return float(0.5 ** max(0.0, cadences - 1.0))


SourceKey = tuple[SourceKind, str]  # kind, source id


@dataclass(frozen=True)
class FusedCount:
    people: float
    sources: tuple[SourceContribution, ...]
    as_of: datetime  # event time of the newest input
    stale: bool  # every input is stale
    people_min: float | None = None
    people_max: float | None = None
    official_label: ComfortLabel | None = None  # Seoul's own label, when telecom decided
    # The inputs the number rests on (fresh and plausible): when they change, the number
    # steps, and a trend across the step would be invented.
    contributors: frozenset[SourceKey] = frozenset()
    # False when no input is plausible: `people` is then the raw figure, shown, not used.
    plausible: bool = True


def fuse_zone(
    readings: Iterable[SourceReading],
    now: datetime,
    k: float = STALE_AFTER_CADENCES,
    implausible: Collection[SourceKey] = (),
) -> FusedCount | None:
    """Weighted mean of one zone's readings; None when nothing has reported.

    A reading counts in full (base x confidence) until it is stale, then not at all
    while any reading is fresh: a counter that stops holds its last value, then leaves,
    so the mean never drifts toward the others as its weight fades. Readings judged
    implausible weigh nothing; if no reading is plausible the raw mean is returned,
    flagged `plausible=False`.
    """
    items = list(readings)
    if not items:
        return None
    ages = [age_s(r.event_time, now) for r in items]
    stale = [is_source_stale(r.source, a, k) for r, a in zip(items, ages, strict=True)]
    good = [(r.source, r.source_id) not in implausible for r in items]
    usable = good if any(good) else [True] * len(items)
    fresh = [u and not s for u, s in zip(usable, stale, strict=True)]
    # All stale: the last word, the newest weighing most.
    counted = fresh if any(fresh) else usable
    raw = [
        BASE_WEIGHT[r.source] * r.confidence * (1.0 if any(fresh) else freshness(r.source, a))
        if c
        else 0.0
        for r, a, c in zip(items, ages, counted, strict=True)
    ]
    if sum(raw) <= 0:  # all report zero confidence: no reason to prefer one
        raw = [1.0 if c else 0.0 for c in counted]
    total = sum(raw)
    weights = [w / total for w in raw]
    people = sum(w * r.people for w, r in zip(weights, items, strict=True))
    contributions = tuple(
        SourceContribution(
            source=r.source, people=r.people, weight=min(1.0, w), age_s=a, stale=s, plausible=g
        )
        for r, w, a, s, g in zip(items, weights, ages, stale, good, strict=True)
    )
    return FusedCount(
        people=people,
        sources=contributions,
        as_of=max(r.event_time for r in items),
        stale=all(stale),
        contributors=frozenset(
            (r.source, r.source_id) for r, w in zip(items, raw, strict=True) if w > 0
        ),
        plausible=any(good),
    )


def _zone_mix(zones: Sequence[FusedCount], floor: float) -> tuple[SourceContribution, ...]:
    """Per source kind, the part of the zone floor that came from it."""
    out: list[SourceContribution] = []
    for kind in ("zone_counter", "visitor_count"):
        parts = [(z, c) for z in zones for c in z.sources if c.source == kind]
        if not parts:
            continue
        people = sum(c.weight * c.people for _, c in parts)
        counted = [c for _, c in parts if c.weight > 0] or [c for _, c in parts]
        out.append(
            SourceContribution(
                source=kind,
                people=people,
                weight=min(1.0, people / floor) if floor > 0 else 0.0,
                age_s=max(c.age_s for c in counted),
                stale=all(c.stale for c in counted),
            )
        )
    return tuple(out)


def fuse_area(
    telecom: SourceReading | None,
    zones: Mapping[str, FusedCount],
    now: datetime,
    k: float = STALE_AFTER_CADENCES,
    telecom_plausible: bool = True,
) -> FusedCount | None:
    """Area head count: max(telecom estimate, sum of fresh zone counts).

    An implausible telecom estimate and zones with no plausible input are left out of
    the number (the estimate is still listed, weight 0); with nothing plausible at all
    the raw figure is returned, flagged `plausible=False`.
    """
    usable = {name: z for name, z in zones.items() if z.plausible}
    if (telecom is None or not telecom_plausible) and not usable:
        raw = _fuse_area(telecom, zones, now, k, telecom_plausible=True)
        return None if raw is None else replace(raw, plausible=False, contributors=frozenset())
    return _fuse_area(
        telecom if telecom_plausible else None,
        usable,
        now,
        k,
        telecom_plausible=True,
        shown=None if telecom_plausible else telecom,
    )


def _fuse_area(
    telecom: SourceReading | None,
    zones: Mapping[str, FusedCount],
    now: datetime,
    k: float,
    telecom_plausible: bool,
    shown: SourceReading | None = None,
) -> FusedCount | None:
    fresh_zones = [z for z in zones.values() if not z.stale]
    t_age = None if telecom is None else age_s(telecom.event_time, now)
    t_stale = telecom is None or is_source_stale("telecom", t_age, k)
    if not fresh_zones and t_stale:
        fresh_zones = list(zones.values())  # nothing fresh anywhere: keep the last word
    if telecom is None and not fresh_zones:
        return None
    floor = sum(z.people for z in fresh_zones)
    telecom_decides = telecom is not None and telecom.people >= floor
    mix = _zone_mix(fresh_zones, floor)
    if telecom_decides:
        mix = tuple(c.model_copy(update={"weight": 0.0}) for c in mix)
    sources = mix
    if telecom is not None and t_age is not None:
        own = SourceContribution(
            source="telecom",
            people=telecom.people,
            weight=1.0 if telecom_decides else 0.0,
            age_s=t_age,
            stale=t_stale,
            plausible=telecom_plausible,
        )
        sources = (own, *mix)
    elif shown is not None:  # an implausible estimate: listed, never counted
        at = age_s(shown.event_time, now)
        own = SourceContribution(
            source="telecom",
            people=shown.people,
            weight=0.0,
            age_s=at,
            stale=is_source_stale("telecom", at, k),
            plausible=False,
        )
        sources = (own, *mix)
    newest = [z.as_of for z in fresh_zones]
    if telecom is not None:
        newest.append(telecom.event_time)
    if shown is not None:
        newest.append(shown.event_time)
    stale = t_stale and all(z.stale for z in fresh_zones)
    contributors: frozenset[SourceKey] = frozenset().union(
        *(z.contributors for z in fresh_zones if not z.stale)
    )
    if telecom is not None and not t_stale:
        contributors |= {("telecom", telecom.source_id)}
    if telecom is not None and telecom_decides:
        return FusedCount(
            people=telecom.people,
            sources=sources,
            as_of=max(newest),
            stale=stale,
            people_min=telecom.people_min,
            people_max=telecom.people_max,
            official_label=None if t_stale else telecom.official_label,
            contributors=contributors,
        )
    return FusedCount(
        people=floor, sources=sources, as_of=max(newest), stale=stale, contributors=contributors
    )
