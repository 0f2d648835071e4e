"""One-minute event-time windows of crowd readings and the one lateness rule.

The worker folds each batch into one `StatsPartial` per (area, zone, source, minute) and
the sink adds it onto the stored `crowd_stats_1m` row (samples + samples, least of the
minima, newest value by event time), so partials of one window may arrive in any number
of batches. Whether a reading may still correct its window is `is_too_late`: by its
event time against the newest event time seen on its partition.

Pure: no clock; the watermark comes from event times only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

MINUTE = timedelta(minutes=1)
# CITYPULSE_ALLOWED_LATENESS_S overrides it (streams/settings.py).
DEFAULT_ALLOWED_LATENESS = timedelta(minutes=10)

StatsKey = tuple[str, str, str, datetime]  # area, zone ("" for telecom), source, minute


def bucket_of(ts: datetime) -> datetime:
    """Start of the minute holding `ts` (the worker passes UTC times)."""
    return ts.replace(second=0, microsecond=0)


def is_too_late(at: datetime, newest: datetime, allowed: timedelta) -> bool:
    """A reading more than `allowed` behind the newest event time of its partition is
    too late to correct its window: it is stored raw and dead-lettered `too_late`.

    The caller keeps `newest` (a reading newer than it is never late, so the batch calls
    this only for the others).
    """
    return at < newest - allowed


class Sample(Protocol):
    """What a partial reads from a reading (streams.batch.CrowdReading)."""

    @property
    def people(self) -> float: ...
    @property
    def event_time(self) -> datetime: ...
    @property
    def walkable_m2(self) -> float: ...


# Not frozen: a batch adds thousands of readings in place.
@dataclass
class StatsPartial:
    """Mergeable 1-minute aggregate: the database adds these to what it holds."""

    samples: int
    people_sum: float
    people_min: float
    people_max: float
    people_last: float
    last_event_time: datetime
    walkable_m2: float

    @classmethod
    def of(cls, r: Sample) -> StatsPartial:
        return cls(1, r.people, r.people, r.people, r.people, r.event_time, r.walkable_m2)

    def add(self, r: Sample) -> None:
        # Called for nearly every reading of a batch: each attribute is read once.
        people, at = r.people, r.event_time
        self.samples += 1
        self.people_sum += people
        if people < self.people_min:
            self.people_min = people
        elif people > self.people_max:
            self.people_max = people
        if at >= self.last_event_time:
            self.people_last, self.last_event_time = people, at
            self.walkable_m2 = r.walkable_m2

    def merged(self, later: StatsPartial) -> StatsPartial:
        """Both partials as one, as the sink's upsert merges `later` onto a stored row:
        on equal newest event times the later partial's value wins."""
        newer = later.last_event_time >= self.last_event_time
        last = later if newer else self
        return StatsPartial(
            self.samples + later.samples,
            self.people_sum + later.people_sum,
            min(self.people_min, later.people_min),
            max(self.people_max, later.people_max),
            last.people_last,
            last.last_event_time,
            last.walkable_m2,
        )
