"""Event-time tumbling windows with mergeable partial aggregates, and lateness.

A batch of events folds into one `WindowAggregate` per (key, window); partials merge
associatively and commutatively, so the database row for a window can be upserted by
adding a batch's partial to what is stored (count + count, min of mins, newest last).
Replaying a batch is the writer's concern (idempotent upserts keyed by batch offsets).

Pure: no clock; the watermark comes from event times only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

ONE_MINUTE = timedelta(minutes=1)
DEFAULT_ALLOWED_LATENESS = timedelta(minutes=5)
LIVE_REFRESH = timedelta(seconds=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _require_aware(ts: datetime) -> None:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"event time must be timezone-aware: {ts!r}")


def window_start(ts: datetime, width: timedelta = ONE_MINUTE) -> datetime:
    """Start of the tumbling window holding `ts`, aligned to the Unix epoch, in UTC."""
    _require_aware(ts)
    if width <= timedelta(0):
        raise ValueError("window width must be positive")
    return _EPOCH + ((ts - _EPOCH) // width) * width


@dataclass(frozen=True)
class WindowAggregate:
    """Count, sum, min, max and the newest value (with its event time) of one window."""

    window_start: datetime
    count: int
    total: float
    minimum: float
    maximum: float
    last_value: float
    last_event_time: datetime

    @classmethod
    def of(
        cls, value: float, event_time: datetime, width: timedelta = ONE_MINUTE
    ) -> WindowAggregate:
        start = window_start(event_time, width)
        return cls(start, 1, value, value, value, value, event_time)

    @property
    def mean(self) -> float:
        return self.total / self.count

    def merge(self, other: WindowAggregate) -> WindowAggregate:
        if other.window_start != self.window_start:
            raise ValueError("cannot merge partials of different windows")
        # Newest event wins "last"; on a tie the larger value, so merge order never matters.
        mine = (self.last_event_time, self.last_value)
        theirs = (other.last_event_time, other.last_value)
        last_time, last_value = max(mine, theirs)
        return WindowAggregate(
            self.window_start,
            self.count + other.count,
            self.total + other.total,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
            last_value,
            last_time,
        )

    def add(self, value: float, event_time: datetime) -> WindowAggregate:
        return self.merge(
            WindowAggregate(self.window_start, 1, value, value, value, value, event_time)
        )


def aggregate_partials(
    events: Iterable[tuple[str, datetime, float]], width: timedelta = ONE_MINUTE
) -> dict[tuple[str, datetime], WindowAggregate]:
    """Fold (key, event time, value) in any order into one partial per (key, window)."""
    partials: dict[tuple[str, datetime], WindowAggregate] = {}
    for key, event_time, value in events:
        single = WindowAggregate.of(value, event_time, width)
        slot = (key, single.window_start)
        held = partials.get(slot)
        partials[slot] = single if held is None else held.merge(single)
    return partials


class Lateness(Enum):
    ON_TIME = "on_time"  # its window is still open
    LATE_ALLOWED = "late_allowed"  # window closed but within allowed lateness: correct it
    TOO_LATE = "too_late"  # window final: count it in the dead-letter stats only


def classify_lateness(
    event_time: datetime,
    max_event_time: datetime | None,
    allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
    width: timedelta = ONE_MINUTE,
) -> Lateness:
    """Judge an event by its window's end against the newest event time seen so far.

    A window [s, s+w) is open while the newest event time is before s+w, correctable
    while the watermark (newest event time minus allowed lateness) is before s+w, and
    final after that.
    """
    if max_event_time is None:
        return Lateness.ON_TIME
    end = window_start(event_time, width) + width
    if max_event_time < end:
        return Lateness.ON_TIME
    if max_event_time - allowed_lateness < end:
        return Lateness.LATE_ALLOWED
    return Lateness.TOO_LATE


class WatermarkTracker:
    """Newest event time seen on one key or partition; judges each event before it counts."""

    def __init__(
        self,
        allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
        width: timedelta = ONE_MINUTE,
    ) -> None:
        self.allowed_lateness = allowed_lateness
        self.width = width
        self.max_event_time: datetime | None = None

    @property
    def watermark(self) -> datetime | None:
        if self.max_event_time is None:
            return None
        return self.max_event_time - self.allowed_lateness

    def observe(self, event_time: datetime) -> Lateness:
        verdict = classify_lateness(
            event_time, self.max_event_time, self.allowed_lateness, self.width
        )
        if verdict is not Lateness.TOO_LATE and (
            self.max_event_time is None or event_time > self.max_event_time
        ):
            self.max_event_time = event_time
        return verdict


@dataclass(frozen=True)
class LiveEstimate:
    """The newest value of a key before its minute closes, for the live dashboard."""

    value: float
    event_time: datetime
    window_start: datetime
    age_s: float
    partial: bool  # its window is still open at `now`


def live_estimate(
    windows: Iterable[WindowAggregate], now: datetime, width: timedelta = ONE_MINUTE
) -> LiveEstimate | None:
    """Newest reading across the given windows (counts are levels, so last beats mean)."""
    newest: WindowAggregate | None = None
    for agg in windows:
        if newest is None or (agg.last_event_time, agg.last_value) > (
            newest.last_event_time,
            newest.last_value,
        ):
            newest = agg
    if newest is None:
        return None
    age = max(0.0, (now - newest.last_event_time).total_seconds())
    return LiveEstimate(
        newest.last_value,
        newest.last_event_time,
        newest.window_start,
        age,
        now < newest.window_start + width,
    )


def refresh_due(
    last_refresh: datetime | None, now: datetime, every: timedelta = LIVE_REFRESH
) -> bool:
    """True when the live estimate should be re-sent (at least every 5 s)."""
    return last_refresh is None or now - last_refresh >= every or now < last_refresh
