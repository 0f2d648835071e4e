"""Freshness of each source and the rule that a silent feed never looks calm.

Each source has an expected cadence; it is stale once older than k cadences. An area or
zone is stale when even its freshest required source is stale (or none has reported).
A stale scope keeps the higher of its last known stage and the stage its last data
gives, carries stale=True, and shows no comfort level (여유 would read as "calm").

Pure: ages are computed from a `now` passed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime

from citypulse.domain.area_state import SourceKind
from citypulse.domain.stages import Stage

EXPECTED_CADENCE_S: dict[SourceKind, float] = {
    "telecom": 300.0,  # Seoul citydata_ppltn: KT estimate every 5 minutes
    "zone_counter": 60.0,  # people counters report each minute
    "visitor_count": 120.0,  # S-DoT Wi-Fi visitor counts every 2 minutes
}
STALE_AFTER_CADENCES = 3.0


def age_s(event_time: datetime, now: datetime) -> float:
    """Seconds since the reading; a reading stamped ahead of `now` (clock skew) is age 0."""
    return max(0.0, (now - event_time).total_seconds())


def cadences_old(source: SourceKind, age: float | None) -> float:
    """Age in units of the source's cadence; a source that never reported is infinitely old."""
    if age is None:
        return math.inf
    return age / EXPECTED_CADENCE_S[source]


def is_source_stale(source: SourceKind, age: float | None, k: float = STALE_AFTER_CADENCES) -> bool:
    return cadences_old(source, age) > k


def is_scope_stale(
    ages: Mapping[SourceKind, float | None],
    required: Iterable[SourceKind],
    k: float = STALE_AFTER_CADENCES,
) -> bool:
    """Stale when the freshest required source is older than k of its own cadences.

    Cadences differ, so freshness is compared in cadences: a zone counter 2 minutes old
    (2 cadences) is fresher than a telecom estimate 12 minutes old (2.4 cadences).
    An empty `required` set means any source will do.
    """
    wanted = list(required) or list(EXPECTED_CADENCE_S)
    freshest = min(cadences_old(s, ages.get(s)) for s in wanted)
    return freshest > k


def guarded_stage(computed: Stage, last_known: Stage | None, stale: bool) -> Stage:
    """The stage to report: while stale, never lower than the last stage reported."""
    if not stale or last_known is None:
        return computed
    return max(computed, last_known)
