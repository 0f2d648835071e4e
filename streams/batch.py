"""Turn one batch of raw Kafka records into rows to store, dead letters and offsets.

Pure: the caller passes the registry, the offsets already stored and `now`. Duplicate
deliveries (a replay after a crash) are dropped by offset, so the database sees each
record once however often Kafka delivers it; the same event sent twice by its producer
(same event id at another offset) is dead-lettered as `duplicate` instead of counted again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby, repeat
from operator import attrgetter, is_, truediv
from typing import TypeVar

import msgspec
import numpy as np

from sensors.events import (
    MAX_EVENT_BYTES,
    CityEvent,
    EnvironmentReading,
    EventDecodeError,
    PopulationEstimate,
    SensorStatus,
    ZoneCount,
    decode_event,
)
from sensors.lean import (
    LeanEvent,
    LeanPopulationEstimate,
    LeanZoneCount,
    decode_lean,
    decode_lean_run,
)
from sensors.registry import Hotspot
from streams.crowd.windows import (
    DEFAULT_ALLOWED_LATENESS,
    MINUTE,
    StatsKey,
    StatsPartial,
    bucket_of,
    is_too_late,
)

log = logging.getLogger(__name__)
K = TypeVar("K")
# What the worker folds and routes: the strict door's models or the fast door's structs.
WorkerEvent = CityEvent | LeanEvent
_AREA_CODE = re.compile(r"POI\d{3}")  # sensors.events.AreaCode


# A msgspec struct, not a dataclass: built per record, and its __init__ runs in C (about
# 2.5 times cheaper than a slotted dataclass's). Not tracked by the garbage collector:
# it holds only strings, bytes and ints.
class RawRecord(msgspec.Struct, gc=False):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class DeadLetter:
    record: RawRecord
    reason: str
    detail: str
    source: str = ""


@dataclass(frozen=True)
class ValidationPolicy:
    max_future: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=7)
    # streams.crowd.windows.is_too_late: a reading further behind the newest event
    # time of its partition is stored raw and dead-lettered.
    allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS
    max_density_per_m2: float = 12.0  # beyond any crowd ever measured: a broken counter
    recent_ids: int = 200_000  # event ids remembered to drop duplicates (12-26 MB)


class CrowdReading(msgspec.Struct, gc=False):  # one per reading: built in C, as RawRecord
    area_code: str
    zone_id: str
    source: str
    origin: str
    event_id: str
    event_time: datetime
    ingest_time: datetime
    people: float
    people_min: float | None
    people_max: float | None
    confidence: float
    replaced: bool
    walkable_m2: float
    congestion_level: str | None = None  # Seoul's label: the history calibration fits on


@dataclass
class BatchResult:
    readings: list[CrowdReading] = field(default_factory=list)
    environment: list[EnvironmentReading] = field(default_factory=list)
    statuses: list[SensorStatus] = field(default_factory=list)
    stats: dict[StatsKey, StatsPartial] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)
    events: list[WorkerEvent] = field(default_factory=list)  # valid, in-order, for live state
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    first_offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # the store's fence
    skipped_replays: int = 0
    # The record each reading, environment reading and event came from, index for index:
    # what a record at fault in the store or the fold is found and taken out by.
    reading_records: list[RawRecord] = field(default_factory=list)
    environment_records: list[RawRecord] = field(default_factory=list)
    event_records: list[RawRecord] = field(default_factory=list)
    # Each event's time in UTC, index for index: what the live fold orders them by
    # (comparing the decoded times, each with a tzinfo of its own, costs 5 times more).
    event_times: list[datetime] = field(default_factory=list)

    def records_with_rows(self) -> list[RawRecord]:
        """The records that put a row in the store, each once, in batch order."""
        seen: dict[int, RawRecord] = {}
        for rec in self.reading_records + self.environment_records:
            seen.setdefault(id(rec), rec)
        return sorted(seen.values(), key=lambda r: (r.topic, r.partition, r.offset))

    def subset(self, keep: Callable[[RawRecord], bool]) -> BatchResult:
        """The rows and events of the records `keep` accepts, 1-minute partials folded
        again from the kept readings; dead letters and offsets as they are."""
        late = {id(d.record) for d in self.dead if d.reason == "too_late"}
        out = BatchResult(
            dead=list(self.dead),
            next_offsets=dict(self.next_offsets),
            first_offsets=dict(self.first_offsets),
            skipped_replays=self.skipped_replays,
        )
        for reading, rec in zip(self.readings, self.reading_records, strict=True):
            if not keep(rec):
                continue
            out.readings.append(reading)
            out.reading_records.append(rec)
            if id(rec) in late:
                continue  # stored raw, never in a window
            key = (
                reading.area_code,
                reading.zone_id,
                reading.source,
                bucket_of(reading.event_time),
            )
            part = out.stats.get(key)
            if part is None:
                out.stats[key] = StatsPartial.of(reading)
            else:
                part.add(reading)
        for env, rec in zip(self.environment, self.environment_records, strict=True):
            if keep(rec):
                out.environment.append(env)
                out.environment_records.append(rec)
        for event, rec, at in zip(self.events, self.event_records, self.event_times, strict=True):
            if keep(rec):
                out.events.append(event)
                out.event_records.append(rec)
                out.event_times.append(at)
                if isinstance(event, SensorStatus):
                    out.statuses.append(event)
        return out

    def take_out(self, poison: Sequence[DeadLetter]) -> None:
        """Drop every row and event of the poison records and dead-letter them instead;
        their offsets stay consumed."""
        gone = {id(d.record) for d in poison}
        kept = self.subset(lambda rec: id(rec) not in gone)
        kept.dead.extend(poison)
        for name in ("readings", "reading_records", "environment", "environment_records",
                     "statuses", "stats", "dead", "events", "event_records",
                     "event_times"):  # fmt: skip
            setattr(self, name, getattr(kept, name))


_partition_of = attrgetter("topic", "partition")
_offset_of = attrgetter("offset")
_value_of = attrgetter("value")
_event_time_of = attrgetter("event_time")
_event_id_of = attrgetter("event_id")
_area_of = attrgetter("area_code")
_partition_only = attrgetter("partition")
_tzinfo_of = attrgetter("tzinfo")
_topic_of = attrgetter("topic")
_count_of = attrgetter("count")
_walkable_of = attrgetter("walkable_m2")
# A run of one partition shorter than this is taken record by record: the columnar
# path's set-up costs about as much as a few records.
_LEAN_RUN = 8
# Offsets from here on (140 trillion records into a partition) are left to `_each`: their
# RecentIds position, offset << 16 | partition, would overflow numpy's int64.
_INT64_POSITIONS = 1 << 47


class RecentIds:
    """Event ids seen lately, each with the record it was first seen in.

    Ids are derived from (source, device, time), so a device or poller that sends the same
    reading twice repeats its id. The same record read again (a batch the store refused, a
    re-fetch after a rebalance) is a redelivery, not a duplicate: hence the position.
    Two generations of `capacity / 2` ids, keyed by the id's 64-bit hash: the newest
    100,000-200,000 ids in about 12-26 MB with O(1) work per id. A new worker starts empty.
    """

    def __init__(self, capacity: int) -> None:
        self._half = max(1, capacity // 2)
        self._current: dict[int, int] = {}
        self._previous: dict[int, int] = {}

    def seen_elsewhere(self, event_id: str, rec: RawRecord) -> bool:
        """True when `event_id` was first seen in another record; remembers it otherwise.
        (BatchProcessor.process runs the same steps inline.)"""
        # The feed reads one topic and a key is one area, so (partition, offset) names
        # the record.
        position = rec.offset << 16 | rec.partition
        key = hash(event_id)
        first = self._current.get(key)
        if first is None:
            first = self._previous.get(key)
        if first is not None:
            return first != position
        self._current[key] = position
        if len(self._current) >= self._half:
            self._previous, self._current = self._current, {}
        return False


@dataclass(slots=True)
class _PartitionRead:
    """What one batch has read of one partition so far."""

    stored: int  # the offset the database holds: records below it are replays
    watermark: datetime | None  # the newest event time, kept across batches
    first: int  # the first and last offsets this batch covers (-1: none yet)
    last: int


@dataclass(slots=True, frozen=True)
class _Batch:
    """What every record of one batch is checked against."""

    oldest: datetime
    newest: datetime
    lateness: timedelta
    max_density: float
    walkable: dict[str, float]  # each area's walkable m²
    lean_areas: frozenset[str]


def _add_partials(
    stats: dict[StatsKey, StatsPartial],
    readings: list[CrowdReading],
    first_at: datetime,
    last_at: datetime,
) -> None:
    """StatsPartial.of or .add for each reading in turn, as `_each` does inline; one
    minute for all when the earliest and the latest share it."""
    bucket = bucket_of(first_at)
    buckets = (
        repeat(bucket)
        if bucket_of(last_at) == bucket
        else map(bucket_of, map(_event_time_of, readings))
    )
    for reading, bucket in zip(readings, buckets, strict=False):  # buckets may repeat
        key = (reading.area_code, reading.zone_id, reading.source, bucket)
        part = stats.get(key)
        if part is None:
            stats[key] = StatsPartial.of(reading)
            continue
        # StatsPartial.add, inline as in `_each`: a method call per reading is measurable
        # (bench/batch_cpu.py --instructions).
        people, at = reading.people, reading.event_time
        part.samples += 1
        part.people_sum += people
        if people < part.people_min:
            part.people_min = people
        elif people > part.people_max:
            part.people_max = people
        if at >= part.last_event_time:
            part.people_last, part.last_event_time = people, at
            part.walkable_m2 = reading.walkable_m2


class BatchProcessor:
    """Holds the per-partition watermarks and the recent event ids across batches;
    everything else is per call."""

    def __init__(self, hotspots: Mapping[str, Hotspot], policy: ValidationPolicy | None = None):
        self.hotspots = hotspots
        self.policy = policy or ValidationPolicy()
        self._newest: dict[tuple[str, int], datetime] = {}
        self._recent_ids = RecentIds(self.policy.recent_ids)

    def process(
        self,
        records: Iterable[RawRecord],
        stored_offsets: Mapping[tuple[str, int], int],
        now: datetime,
    ) -> BatchResult:
        out = BatchResult()
        oldest = now - self.policy.max_age
        hotspots = self.hotspots
        # Looked up once per batch: everything in the loops costs per event
        # (bench/batch_cpu.py --instructions).
        c = _Batch(
            oldest,
            now + self.policy.max_future,
            self.policy.allowed_lateness,
            self.policy.max_density_per_m2,
            {code: spot.walkable_m2 for code, spot in hotspots.items()},
            # The codes the fast door's events may name: those the strict door's pattern takes.
            frozenset(code for code in hotspots if _AREA_CODE.fullmatch(code)),
        )
        watermarks = self._newest
        reads: dict[tuple[str, int], _PartitionRead] = {}
        # Kafka hands each partition's records over together (getmany), so a batch is a
        # few runs of one partition each; any order is taken, a run may be one record.
        records = list(records)
        # One topic (the worker reads one): runs told apart by the partition alone, an
        # int, cheaper to compare per record than a (topic, partition) tuple.
        topics = set(map(_topic_of, records))
        one_topic = topics.pop() if len(topics) == 1 else None
        for key, grouped in groupby(
            records, _partition_of if one_topic is None else _partition_only
        ):
            run = list(grouped)
            tp = key if one_topic is None else (one_topic, key)
            read = reads.get(tp)
            if read is None:
                read = reads[tp] = _PartitionRead(
                    stored_offsets.get(tp, -1), watermarks.get(tp), -1, -1
                )
            if len(run) < _LEAN_RUN or not self._lean_run(run, read, c, out):
                self._each(run, read, c, out)
        first_offsets, next_offsets = out.first_offsets, out.next_offsets
        for tp, read in reads.items():
            if read.watermark is not None:
                watermarks[tp] = read.watermark
            if read.first >= 0:
                first_offsets[tp], next_offsets[tp] = read.first, read.last + 1
        return out

    def _lean_run(
        self, run: list[RawRecord], read: _PartitionRead, c: _Batch, out: BatchResult
    ) -> bool:
        """The whole run of one partition's records at once, when every record is a
        fast-door event that `_each` would take without a dead letter, a duplicate, a
        replay or a late reading; then False is never returned after a change. Otherwise
        False, having changed nothing, and the caller takes the run record by record.

        The same results as `_each`, checked over columns in C (`map`, `min`, `max`, set
        operations) rather than per record in Python: each of `_each`'s conditions holds
        for every record iff it holds for the least or greatest value of the run.
        """
        # As an array: its least, its greatest and each record's position (below) cost
        # a few instructions a record in numpy, a few hundred as passes of `map` and `min`.
        offsets = np.array(list(map(_offset_of, run)), dtype=np.int64)
        low, high = int(offsets.min()), int(offsets.max())
        if low < read.stored:
            return False  # replays: skipped and counted one by one
        if high >= _INT64_POSITIONS:
            return False  # its position (below) would not fit an int64: `_each`'s ints do
        lean = decode_lean_run(list(map(_value_of, run)))
        if lean is None:
            return False
        events, ats, zones = lean
        # msgspec gives "+00:00" and "Z" the UTC singleton, for which astimezone(UTC) is the
        # time itself: the call per event (its keyword parsing) is made only for others.
        if not all(map(is_, map(_tzinfo_of, ats), repeat(UTC))):
            ats = list(map(datetime.astimezone, ats, repeat(UTC)))
        first_at, last_at = min(ats), max(ats)
        watermark = read.watermark
        top = last_at if watermark is None or last_at > watermark else watermark
        if (
            last_at > c.newest
            or first_at < c.oldest
            # None is too late: the earliest is within the lateness of the newest.
            or first_at < top - c.lateness
            or not c.lean_areas.issuperset(map(_area_of, events))
            or max(map(truediv, map(_count_of, zones), map(_walkable_of, zones)), default=0.0)
            > c.max_density
        ):
            return False
        # Duplicate ids: none of the run's ids held, none twice in the run
        # (RecentIds.seen_elsewhere for each, in turn). The generation may turn over once
        # within the run, after its first `room` ids, where seen_elsewhere turns it; the
        # ids after that are looked up in the run's own ids and in a previous generation
        # made of the current one and those: checked here too. (Taken record by record,
        # such runs cost 7 % of the worker's interpreter time on a backlog: py-spy,
        # docs/benchmarks.md.)
        recent = self._recent_ids
        ids = list(map(hash, map(_event_id_of, events)))
        current = recent._current
        room = recent._half - len(current)  # at least 1: seen_elsewhere keeps it so
        if (
            len(ids) - room >= recent._half  # a second turn-over
            or len(set(ids)) != len(ids)
            or not current.keys().isdisjoint(ids)
            or not recent._previous.keys().isdisjoint(ids)
        ):
            return False
        partition = run[0].partition
        # RecentIds' position of each record, as `_each` makes it.
        positions = ((offsets << 16) | partition).tolist()
        if len(ids) < room:
            current.update(zip(ids, positions, strict=True))
        else:  # turned over after the `room`-th id, as seen_elsewhere turns it
            current.update(zip(ids[:room], positions[:room], strict=True))
            recent._previous = current
            recent._current = dict(zip(ids[room:], positions[room:], strict=True))
        read.watermark = top
        if read.first < 0 or low < read.first:
            read.first = low
        if high > read.last:
            read.last = high
        walkable = c.walkable
        readings = [
            CrowdReading(
                e.area_code, e.zone_id, "zone_counter", e.source, e.event_id, at,
                e.ingest_time, float(e.count), None, None, e.confidence, False,
                e.walkable_m2,
            )
            if type(e) is LeanZoneCount
            else CrowdReading(
                e.area_code, "", "telecom", e.source, e.event_id, at, e.ingest_time,
                (e.people_min + e.people_max) / 2.0, e.people_min, e.people_max, 1.0,  # type: ignore[union-attr]
                e.replaced, walkable[e.area_code], e.congestion_level,  # type: ignore[union-attr]
            )
            for e, at in zip(events, ats, strict=True)
        ]  # fmt: skip
        _add_partials(out.stats, readings, first_at, last_at)
        out.readings += readings
        out.reading_records += run
        out.events += events
        out.event_records += run
        out.event_times += ats
        return True

    def _each(
        self, run: list[RawRecord], read: _PartitionRead, c: _Batch, out: BatchResult
    ) -> None:
        """One partition's run of records, one by one."""
        oldest, newest, lateness, max_density = c.oldest, c.newest, c.lateness, c.max_density
        hotspots, walkable, lean_areas = self.hotspots, c.walkable, c.lean_areas
        recent = self._recent_ids
        current_ids, previous_ids = recent._current, recent._previous
        readings, reading_records = out.readings, out.reading_records
        events, event_records, event_times = out.events, out.event_records, out.event_times
        dead, stats = out.dead, out.stats
        bucket = bucket_end = oldest  # the minute of the previous reading, reused while it lasts
        stored, watermark, first, last = read.stored, read.watermark, read.first, read.last
        for rec in run:
            offset, partition = rec.offset, rec.partition
            if offset < stored:
                out.skipped_replays += 1  # already in the database from an earlier run
                continue
            if first < 0 or offset < first:
                first = offset
            if offset > last:
                last = offset
            # The fast door first (msgspec, sensors/lean.py); anything it cannot vouch
            # for, and every event a check below refuses, takes the strict door, which
            # decides and words the reason exactly as before.
            event: WorkerEvent | None = decode_lean(rec.value)
            if event is not None:
                at = event.event_time.astimezone(UTC)
                if (
                    at > newest
                    or at < oldest
                    or event.area_code not in lean_areas
                    or (
                        type(event) is LeanZoneCount
                        and event.count / event.walkable_m2 > max_density
                    )
                ):
                    event = None
            if event is None:
                try:
                    event = decode_event(rec.value)
                except EventDecodeError as exc:
                    dead.append(DeadLetter(rec, exc.reason, exc.detail))
                    continue
                # One UTC datetime per event for every comparison, bucket and stored row:
                # pydantic gives each parsed time a tzinfo of its own, and comparing or
                # hashing two such times calls utcoffset() on both (about 1 µs each time).
                at = event.event_time.astimezone(UTC)
                # `_check`'s conditions, inline: it is called (for the reason) only when
                # one holds. type(), not isinstance(): decode_event makes no subclasses.
                area = event.area_code
                if (
                    at > newest
                    or at < oldest
                    or (area is not None and area not in hotspots)
                    or (type(event) is ZoneCount and event.count / event.walkable_m2 > max_density)
                ):
                    reason = self._check(event, at, oldest, newest)
                    if reason is not None:
                        dead.append(DeadLetter(rec, reason[0], reason[1], event.source))
                        continue
            # RecentIds.seen_elsewhere, inline (a call per event is measurable).
            id_key = hash(event.event_id)
            held = current_ids.get(id_key)
            if held is None:
                held = previous_ids.get(id_key)
            if held is None:
                current_ids[id_key] = offset << 16 | partition
                if len(current_ids) >= recent._half:
                    recent._previous, recent._current = current_ids, {}
                    previous_ids, current_ids = current_ids, recent._current
            elif held != offset << 16 | partition:
                detail = f"event_id {event.event_id} was already counted"
                dead.append(DeadLetter(rec, "duplicate", detail, event.source))
                continue
            if watermark is None or at > watermark:
                watermark, too_late = at, False
            else:
                too_late = is_too_late(at, watermark, lateness)
            # Routing, inline: a crowd reading is stored raw (even when too late for its
            # window) and added to its 1-minute partial; every valid event is folded.
            if type(event) is LeanZoneCount or type(event) is ZoneCount:
                code = event.area_code
                reading = CrowdReading(
                    code, event.zone_id, "zone_counter", event.source, event.event_id, at,
                    event.ingest_time, float(event.count), None, None, event.confidence,
                    False, event.walkable_m2,
                )  # fmt: skip
            elif type(event) is LeanPopulationEstimate or type(event) is PopulationEstimate:
                code, low, high = event.area_code, event.people_min, event.people_max
                reading = CrowdReading(
                    code, "", "telecom", event.source, event.event_id, at, event.ingest_time,
                    (low + high) / 2.0, low, high, 1.0, event.replaced, walkable[code],
                    event.congestion_level,
                )  # fmt: skip
            else:
                # environment readings (and their visitor counts) are stored as they are
                if type(event) is EnvironmentReading:
                    out.environment.append(event)
                    out.environment_records.append(rec)
                elif type(event) is SensorStatus:
                    out.statuses.append(event)
                events.append(event)
                event_records.append(rec)
                event_times.append(at)
                continue
            readings.append(reading)
            reading_records.append(rec)
            if too_late:
                dead.append(self._too_late(event, rec))
                continue
            if not bucket <= at < bucket_end:
                bucket = bucket_of(at)
                bucket_end = bucket + MINUTE
            key = (code, reading.zone_id, reading.source, bucket)
            part = stats.get(key)
            if part is None:
                stats[key] = StatsPartial.of(reading)
            else:  # StatsPartial.add, inline
                people = reading.people
                part.samples += 1
                part.people_sum += people
                if people < part.people_min:
                    part.people_min = people
                elif people > part.people_max:
                    part.people_max = people
                if at >= part.last_event_time:
                    part.people_last, part.last_event_time = people, at
                    part.walkable_m2 = reading.walkable_m2
            events.append(event)
            event_records.append(rec)
            event_times.append(at)
        read.watermark, read.first, read.last = watermark, first, last

    def _check(
        self, event: CityEvent, at: datetime, oldest: datetime, newest: datetime
    ) -> tuple[str, str] | None:
        p = self.policy
        if at > newest:
            return "future_time", f"event_time {event.event_time.isoformat()} is in the future"
        if at < oldest:
            return "too_old", f"event_time {event.event_time.isoformat()} is older than {p.max_age}"
        area = event.area_code
        if area is not None and area not in self.hotspots:
            return "unknown_area", f"area_code {area} is not in the registry"
        if isinstance(event, ZoneCount) and event.count / event.walkable_m2 > p.max_density_per_m2:
            density = event.count / event.walkable_m2
            return "implausible_density", f"{density:.1f} persons/m² in zone {event.zone_id}"
        return None

    def _too_late(self, event: WorkerEvent, rec: RawRecord) -> DeadLetter:
        return DeadLetter(
            rec,
            "too_late",
            f"{event.event_time.isoformat()} is behind "
            f"the watermark by more than {self.policy.allowed_lateness}",
            event.source,
        )


# What folding an event into live state raises when the event (not the worker) is at fault:
# a value the crowd math cannot take. Anything else stops the worker as before.
FOLD_ERRORS: tuple[type[Exception], ...] = (ArithmeticError, ValueError, TypeError, KeyError)


def fold_isolating(
    apply: Callable[[list[WorkerEvent], list[datetime]], set[K]], result: BatchResult
) -> set[K]:
    """`apply(result.events, result.event_times)`; if that raises, find the events at
    fault by bisection, dead-letter their records as `fold_failed` (taken out of
    `result`, so they are not stored either) and fold the rest. Returns the changed keys.

    A half that fails may have folded part of itself first; folding it again is harmless
    (trackers ignore a reading no newer than the one they hold).
    """
    try:
        return apply(result.events, result.event_times)
    except FOLD_ERRORS:
        log.exception("a batch failed to fold into live state; looking for the events at fault")
    changed: set[K] = set()
    poison: list[DeadLetter] = []

    def search(lo: int, hi: int) -> None:
        nonlocal changed
        try:
            changed |= apply(result.events[lo:hi], result.event_times[lo:hi])
            return
        except FOLD_ERRORS as exc:
            if hi - lo == 1:
                rec, event = result.event_records[lo], result.events[lo]
                poison.append(DeadLetter(rec, "fold_failed", _describe(exc), event.source))
                return
        mid = (lo + hi) // 2
        search(lo, mid)
        search(mid, hi)

    search(0, len(result.events))
    result.take_out(poison)
    return changed


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


# The dead letter of any record fits the dead-letter producer whatever the broker took:
# a body beyond what the decoder reads is cut (and says so), as is a key beyond any
# partition key.
DEAD_LETTER_MAX_VALUE = MAX_EVENT_BYTES
DEAD_LETTER_MAX_KEY = 1024
DEAD_LETTER_MAX_DETAIL = 1000


def dead_letter_message(
    d: DeadLetter,
) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]:
    """Key, value and headers of the dead letter of `d` on the dead-letter topic."""
    key, value = d.record.key, d.record.value
    headers = [
        ("reason", d.reason.encode()),
        ("detail", d.detail.encode("utf-8", "backslashreplace")[:DEAD_LETTER_MAX_DETAIL]),
        ("source", d.source.encode("utf-8", "backslashreplace")),
        ("origin", f"{d.record.topic}/{d.record.partition}/{d.record.offset}".encode()),
    ]
    if value is not None and len(value) > DEAD_LETTER_MAX_VALUE:
        headers.append(
            ("truncated", f"value {len(value)} bytes, first {DEAD_LETTER_MAX_VALUE} kept".encode())
        )
        value = value[:DEAD_LETTER_MAX_VALUE]
    if key is not None and len(key) > DEAD_LETTER_MAX_KEY:
        headers.append(
            ("key_truncated", f"key {len(key)} bytes, first {DEAD_LETTER_MAX_KEY} kept".encode())
        )
        key = key[:DEAD_LETTER_MAX_KEY]
    return key, value, headers
