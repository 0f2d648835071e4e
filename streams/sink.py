"""The database edge of the stream worker: one transaction per batch.

Raw rows go in with COPY, 1-minute stats are merged additively, and the input offsets
are written in the same transaction. A batch is therefore in the database entirely or
not at all, and the stored offsets say exactly which records it covered.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import psycopg

from citypulse import seoul_forecasts
from citypulse.seoul_forecasts import SeoulForecast, SeoulForecastPoint
from sensors.events import CityEvent, PopulationEstimate
from sensors.lean import LeanEvent
from streams.batch import BatchResult, DeadLetter, RawRecord
from streams.crowd.windows import StatsKey, StatsPartial
from streams.retrying import RetryingConnection

log = logging.getLogger(__name__)
T = TypeVar("T")
Conn = psycopg.Connection[tuple[object, ...]]

# One statement for a batch's stats rows, however many: executed row by row (executemany)
# each row paid PostgreSQL's per-statement cost, about a tenth of the database's CPU per
# stored event (bench/store_cpu.py). The keys of a batch are distinct (a dict's), so no
# row is updated twice in one statement; they go in sorted, so two writers lock in one order.
_UPSERT_STATS = """
INSERT INTO crowd_stats_1m AS s (area_code, zone_id, source, bucket, samples, people_sum,
    people_min, people_max, people_last, last_event_time, walkable_m2)
SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::bigint[],
    %b::float8[], %b::float8[], %b::float8[], %b::float8[], %b::timestamptz[], %b::float8[])
ON CONFLICT (area_code, zone_id, source, bucket) DO UPDATE SET
    samples = s.samples + EXCLUDED.samples,
    people_sum = s.people_sum + EXCLUDED.people_sum,
    people_min = LEAST(s.people_min, EXCLUDED.people_min),
    people_max = GREATEST(s.people_max, EXCLUDED.people_max),
    people_last = CASE WHEN EXCLUDED.last_event_time >= s.last_event_time
                       THEN EXCLUDED.people_last ELSE s.people_last END,
    walkable_m2 = CASE WHEN EXCLUDED.last_event_time >= s.last_event_time
                       THEN EXCLUDED.walkable_m2 ELSE s.walkable_m2 END,
    last_event_time = GREATEST(s.last_event_time, EXCLUDED.last_event_time)
"""

_READING_TYPES = ["text", "text", "text", "text", "text", "timestamptz", "timestamptz",
                  "float8", "float8", "float8", "float4", "bool", "text"]  # fmt: skip

_UPSERT_OFFSET = """
INSERT INTO stream_offsets (consumer, topic, partition, next_offset, updated_at)
VALUES (%s, %s, %s, %s, now())
ON CONFLICT (consumer, topic, partition) DO UPDATE
SET next_offset = GREATEST(stream_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()
"""

_COUNT_DEAD = """
INSERT INTO dead_letter_counts (reason, count, last_at) VALUES (%s, %s, now())
ON CONFLICT (reason) DO UPDATE
SET count = dead_letter_counts.count + EXCLUDED.count, last_at = now()
"""


def newest_seoul_forecasts(events: Sequence[CityEvent | LeanEvent]) -> list[SeoulForecast]:
    """Each area's forecast from its newest estimate in `events` that carries one (an
    estimate without a forecast leaves the stored one as it is)."""
    newest: dict[str, PopulationEstimate] = {}
    for event in events:
        if type(event) is PopulationEstimate and event.forecast:
            held = newest.get(event.area_code)
            if held is None or event.event_time >= held.event_time:
                newest[event.area_code] = event
    return [
        SeoulForecast(
            e.area_code,
            e.event_time,
            e.source,
            tuple(
                SeoulForecastPoint(p.time, p.people_min, p.people_max, p.congestion_level)
                for p in e.forecast
            ),
        )
        for e in newest.values()
    ]


def stats_columns(stats: Mapping[StatsKey, StatsPartial]) -> list[list[object]]:
    """A batch's 1-minute stats as `_UPSERT_STATS`'s eleven arrays, in key order. Numbers
    are made one type per column: psycopg refuses a list that mixes ints and floats."""
    items = sorted(stats.items())
    return [
        [k[0] for k, _ in items],
        [k[1] for k, _ in items],
        [k[2] for k, _ in items],
        [k[3] for k, _ in items],
        [int(p.samples) for _, p in items],
        [float(p.people_sum) for _, p in items],
        [float(p.people_min) for _, p in items],
        [float(p.people_max) for _, p in items],
        [float(p.people_last) for _, p in items],
        [p.last_event_time for _, p in items],
        [float(p.walkable_m2) for _, p in items],
    ]


class StaleOffsets(Exception):
    """The database already holds records of this batch: another worker stored them.

    Raised before anything is written; the caller drops the batch and resumes its
    partitions from the stored offsets.
    """


# What a write raises when the rows (not the database's availability) are at fault: a value
# a column refuses, a constraint, a row the driver cannot encode. OperationalError (the
# database down) is retried inside the store; anything else stops the worker.
STORE_ERRORS: tuple[type[Exception], ...] = (
    psycopg.DataError,
    psycopg.IntegrityError,
    psycopg.ProgrammingError,
    psycopg.NotSupportedError,
    ValueError,
    OverflowError,
    TypeError,
)


class BatchStore(Protocol):
    def stored_offsets(self, topic: str) -> dict[tuple[str, int], int]: ...

    def write(self, batch: BatchResult) -> None: ...


class ProbingStore(BatchStore, Protocol):
    def probe(self, batch: BatchResult) -> Exception | None:
        """Write `batch` and roll it back: the error the write raises, or None."""
        ...


def store_or_isolate(store: ProbingStore, batch: BatchResult) -> list[DeadLetter]:
    """Write `batch`; if its rows make the write fail, find the records at fault instead.

    Returns [] once the batch is stored. Otherwise nothing is written: the records whose
    rows fail on their own (found by bisection, each half written and rolled back) are
    taken out of `batch` as `store_failed` dead letters with the error as detail, and
    returned; send them, then call again to store the rest, once, with its offsets.
    An error no record causes on its own (the write fails with no rows at all, or every
    half passes) is raised as before.
    """
    try:
        store.write(batch)
        return []
    except STORE_ERRORS as exc:
        log.exception("a batch failed to store; looking for the records at fault")
        failure = exc
    if store.probe(batch.subset(lambda rec: False)) is not None:
        raise failure  # offsets or counts fail by themselves: not a record's fault
    poison = find_poison(store, batch)
    if not poison:
        raise failure
    batch.take_out(poison)
    return poison


def find_poison(store: ProbingStore, batch: BatchResult) -> list[DeadLetter]:
    """Dead letters for the records whose rows fail to store on their own (bisection:
    about 2·log2(n) rolled-back writes per record at fault)."""
    sources = {
        id(rec): r.origin for r, rec in zip(batch.readings, batch.reading_records, strict=True)
    }
    envs = zip(batch.environment, batch.environment_records, strict=True)
    sources.update({id(rec): e.source for e, rec in envs})
    poison: list[DeadLetter] = []

    def search(records: Sequence[RawRecord]) -> None:
        ids = {id(rec) for rec in records}
        error = store.probe(batch.subset(lambda rec: id(rec) in ids))
        if error is None:
            return
        if len(records) == 1:
            detail = f"{type(error).__name__}: {error}".strip()[:500]
            poison.append(DeadLetter(records[0], "store_failed", detail, sources[id(records[0])]))
            return
        mid = len(records) // 2
        search(records[:mid])
        search(records[mid:])

    search(batch.records_with_rows())
    return poison


class PostgresBatchStore:
    """Writes batches with retry: a database outage stalls the stream, it never drops."""

    def __init__(self, conninfo: str, consumer: str, retry_max_s: float = 10.0) -> None:
        self.conninfo = conninfo
        self.consumer = consumer
        self._db = RetryingConnection(conninfo, retry_max_s)
        self._days: dict[str, set[datetime]] = {
            "crowd_readings": set(),
            "crowd_stats_1m": set(),
            "environment_readings": set(),
        }
        self.rollup_dirty_from: datetime | None = None

    def close(self) -> None:
        self._db.close()

    def stored_offsets(self, topic: str) -> dict[tuple[str, int], int]:
        rows = self._retry(
            lambda c: c.execute(
                "SELECT partition, next_offset FROM stream_offsets WHERE consumer=%s AND topic=%s",
                (self.consumer, topic),
            ).fetchall(),
            "read offsets",
        )
        return {(topic, int(str(p))): int(str(o)) for p, o in rows}

    def write(self, batch: BatchResult) -> None:
        self._retry(lambda c: self._write_once(c, batch), "write batch")
        times = [r.event_time for r in batch.readings]
        if times:
            lo = min(times)
            if self.rollup_dirty_from is None or lo < self.rollup_dirty_from:
                self.rollup_dirty_from = lo

    def take_rollup_dirty_from(self) -> datetime | None:
        """The earliest event time written since the last call (rollups to recompute from
        there: streams/housekeeping.py), and clear the mark."""
        dirty, self.rollup_dirty_from = self.rollup_dirty_from, None
        return dirty

    def probe(self, batch: BatchResult) -> Exception | None:
        try:
            self._retry(lambda c: self._write_once(c, batch, rollback=True), "probe batch")
        except STORE_ERRORS as exc:
            return exc
        return None

    def _ensure_partitions(
        self, cur: psycopg.Cursor[tuple[object, ...]], table: str, times: list[datetime]
    ) -> None:
        # A batch spans minutes, rarely a midnight: every day from its first to its last.
        first = min(times).replace(hour=0, minute=0, second=0, microsecond=0)
        last = max(times)
        known = self._days[table]
        day = first
        while day <= last:
            if day not in known:
                cur.execute(
                    "SELECT cp_ensure_day_partitions(%s, %s, %s)",
                    (table, day, day + timedelta(hours=23)),
                )
                known.add(day)
            day += timedelta(days=1)

    def _fence(self, cur: psycopg.Cursor[tuple[object, ...]], b: BatchResult) -> None:
        """Lock this batch's offset rows; refuse it if any of its records is stored already.

        After a rebalance the old owner of a partition may still write a batch it fetched
        before: whichever of the two writes second finds the offset moved and backs off.
        """
        by_topic: dict[str, list[int]] = {}
        for topic, partition in b.first_offsets:
            by_topic.setdefault(topic, []).append(partition)
        for topic, held in sorted(by_topic.items()):
            rows = cur.execute(
                "SELECT partition, next_offset FROM stream_offsets WHERE consumer = %s"
                " AND topic = %s AND partition = ANY(%s) ORDER BY partition FOR UPDATE",
                (self.consumer, topic, sorted(held)),
            ).fetchall()
            for row_partition, row_offset in rows:
                partition, stored = int(str(row_partition)), int(str(row_offset))
                first = b.first_offsets[(topic, partition)]
                if stored > first:
                    raise StaleOffsets(
                        f"{topic}/{partition}: stored up to {stored}, batch starts at {first}"
                    )

    def _write_once(self, conn: Conn, b: BatchResult, rollback: bool = False) -> None:
        # The day partitions made in a transaction that does not commit are gone again.
        days = {table: set(known) for table, known in self._days.items()}
        try:
            with conn.transaction(force_rollback=rollback), conn.cursor() as cur:
                self._write_rows(cur, b)
        except BaseException:
            self._days = days
            raise
        if rollback:
            self._days = days

    def _write_rows(self, cur: psycopg.Cursor[tuple[object, ...]], b: BatchResult) -> None:
        self._fence(cur, b)
        if b.readings:
            self._ensure_partitions(cur, "crowd_readings", [r.event_time for r in b.readings])
            with cur.copy(
                "COPY crowd_readings (area_code, zone_id, source, origin, event_id, event_time,"
                " ingest_time, people, people_min, people_max, confidence, replaced,"
                " congestion_level)"
                " FROM STDIN (FORMAT BINARY)"
            ) as cp:
                # Binary rows: about three times faster than text for this batch shape.
                cp.set_types(_READING_TYPES)
                for r in b.readings:
                    cp.write_row(
                        (
                            r.area_code,
                            r.zone_id,
                            r.source,
                            r.origin,
                            r.event_id,
                            r.event_time,
                            r.ingest_time,
                            r.people,
                            r.people_min,
                            r.people_max,
                            r.confidence,
                            r.replaced,
                            r.congestion_level,
                        )
                    )
        if b.environment:
            self._ensure_partitions(
                cur, "environment_readings", [e.event_time for e in b.environment]
            )
            with cur.copy(
                "COPY environment_readings (sensor_id, area_code, origin, event_id, event_time,"
                " ingest_time, reading) FROM STDIN"
            ) as cp:
                for e in b.environment:
                    fields = e.model_dump(
                        exclude={
                            "v",
                            "kind",
                            "event_id",
                            "source",
                            "event_time",
                            "ingest_time",
                            "sensor_id",
                            "area_code",
                        },
                        exclude_none=True,
                    )
                    cp.write_row(
                        (
                            e.sensor_id,
                            e.area_code,
                            e.source,
                            e.event_id,
                            e.event_time,
                            e.ingest_time,
                            json.dumps(fields),
                        )
                    )
        if b.stats:
            self._ensure_partitions(cur, "crowd_stats_1m", [k[3] for k in b.stats])
            cur.execute(_UPSERT_STATS, stats_columns(b.stats))
        seoul_forecasts.upsert_newest(cur, newest_seoul_forecasts(b.events))
        if b.dead:
            counts = Counter(d.reason for d in b.dead)
            cur.executemany(_COUNT_DEAD, sorted(counts.items()))
        if b.next_offsets:
            cur.executemany(
                _UPSERT_OFFSET,
                [(self.consumer, t, p, o) for (t, p), o in sorted(b.next_offsets.items())],
            )

    def _retry(self, op: Callable[[Conn], T], what: str) -> T:
        return self._db.run(op, what)
