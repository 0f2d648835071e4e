"""Load a recorded log into the database as history: raw rows, 1-minute stats, rollups.

`citypulse backfill FILE...` reads the hourly 121-area log or the 5-minute 113-area log
with the same adapters as `citypulse replay`, checks each event with the worker's own
`BatchProcessor` (a policy without a lateness or age limit, everything else as live) and
writes through the worker's own `PostgresBatchStore`, then refreshes the rollups over the
file's span. It goes straight to the database, not through Kafka: a recording hours or
years behind the live clock would be dead-lettered as too late by the live worker, and
history must not reach the live state, the area-state topic or the alert rules.

What it leaves alone: Kafka, the live consumer's stream offsets (its batches carry none),
the dead-letter counters (rejected readings are reported by the command instead) and the
alert tables.

Idempotent by event id. The store merges 1-minute stats additively, so every chunk is
first compared with what the database holds: a reading already stored raw is not written
again, and it is counted into the 1-minute stats only when its window has no stats row at
all (a reading the live worker stored raw but dead-lettered as too late, as a `replay` of
an old log does). A window that holds some but not all of its readings is left as it is
and counted in the report.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import psycopg

from citypulse.config import StackSettings
from infra.db.migrate import detect_backend
from sensors.adapters.reject import Reject
from sensors.events import CityEvent, PopulationEstimate, ZoneCount, encode_event
from sensors.registry import Hotspot, hotspots_by_code
from sensors.replay import load_recorded_logs
from streams.batch import (
    MINUTE,
    BatchProcessor,
    BatchResult,
    RawRecord,
    StatsKey,
    ValidationPolicy,
    bucket_of,
)
from streams.housekeeping import Housekeeping
from streams.sink import PostgresBatchStore

log = logging.getLogger(__name__)

# Wide enough for any recording (Seoul's API began in 2022) without overflowing
# `now - max_age`; future times, unknown areas, bad ranges are still refused.
_CENTURY = timedelta(days=36_525)
BACKFILL_POLICY = ValidationPolicy(max_age=_CENTURY, allowed_lateness=_CENTURY)
BACKFILL_CONSUMER = "backfill"  # never the live worker's consumer name
_RECORD_TOPIC = "backfill"  # labels in-memory records only: never read from or stored
CHUNK_EVENTS = 5000  # one store transaction


class StoredHistory(Protocol):
    """What the database already holds for a span of time (read only)."""

    def stored_event_ids(self, ids: Sequence[str], lo: datetime, hi: datetime) -> set[str]: ...

    def counted_windows(self, lo: datetime, hi: datetime) -> dict[StatsKey, Window]: ...


class BackfillWriter(Protocol):
    """The slice of `PostgresBatchStore` a backfill writes through."""

    def write(self, batch: BatchResult, /) -> None: ...


class RollupRefresher(Protocol):
    """The slice of the worker's `Housekeeping` that recomputes rollups."""

    def refresh_rollups(self, since: datetime | None, now: datetime) -> None: ...


@dataclass(frozen=True)
class Window:
    """A 1-minute window as stored: its samples, and the distinct readings stored raw."""

    samples: int
    stored: int

    @property
    def complete(self) -> bool:
        # More samples than readings: a repeat the live worker counted twice, not a gap.
        return self.samples >= self.stored


@dataclass
class BackfillReport:
    read: int = 0
    stored: int = 0  # new raw rows
    windows_completed: int = 0  # readings stored raw before, now counted into their window
    already: int = 0  # stored and counted before: left alone
    partial_windows: int = 0  # stored raw, its window counts fewer readings: left alone
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> count
    first: datetime | None = None
    last: datetime | None = None

    def summary(self) -> str:
        span = (
            f"{self.first:%Y-%m-%d %H:%M} .. {self.last:%Y-%m-%d %H:%M} UTC" if self.first else "-"
        )
        bad = ", ".join(f"{n} {r}" for r, n in sorted(self.rejected.items())) or "none"
        return (
            f"{self.read} readings ({span}): {self.stored} stored, "
            f"{self.windows_completed} counted into their 1-minute windows, "
            f"{self.already} already stored, {self.partial_windows} left in partly counted "
            f"windows; rejected: {bad}"
        )


def stats_key(event: CityEvent) -> StatsKey | None:
    """The 1-minute window a crowd reading is counted in (as `BatchProcessor` keys it)."""
    at = bucket_of(event.event_time.astimezone(UTC))
    if isinstance(event, PopulationEstimate):
        return (event.area_code, "", "telecom", at)
    if isinstance(event, ZoneCount):
        return (event.area_code, event.zone_id, "zone_counter", at)
    return None


@dataclass
class ChunkPlan:
    to_process: list[CityEvent] = field(default_factory=list)
    stats_only: set[str] = field(default_factory=set)  # ids stored raw already
    already: int = 0
    partial_windows: int = 0


def plan_chunk(
    events: Iterable[CityEvent], stored_ids: set[str], counted: Mapping[StatsKey, Window]
) -> ChunkPlan:
    """Which events of a chunk to write in full, which to count into stats only, which
    to leave alone, given the ids stored raw and the windows with a stats row."""
    plan = ChunkPlan()
    for event in events:
        if event.event_id not in stored_ids:
            plan.to_process.append(event)
            continue
        key = stats_key(event)
        window = counted.get(key) if key is not None else None
        if key is None or (window is not None and window.complete):
            plan.already += 1
        elif window is not None:
            # Fewer samples than stored readings, but which reading is missing cannot be
            # told from sums: adding this one could count it twice.
            plan.partial_windows += 1
        else:
            plan.to_process.append(event)
            plan.stats_only.add(event.event_id)
    return plan


def minute_chunks(events: Sequence[CityEvent], size: int) -> Iterator[list[CityEvent]]:
    """Time-ordered events in chunks of about `size`, each ending on a minute boundary:
    one window's readings are planned together, against one read of the database."""
    chunk: list[CityEvent] = []
    for event in events:
        if len(chunk) >= size and bucket_of(event.event_time) != bucket_of(chunk[-1].event_time):
            yield chunk
            chunk = []
        chunk.append(event)
    if chunk:
        yield chunk


class Backfill:
    """Loads events in event-time order, one store transaction per chunk."""

    def __init__(
        self,
        history: StoredHistory,
        store: BackfillWriter,
        rollups: RollupRefresher,
        hotspots: Mapping[str, Hotspot] | None = None,
        chunk_events: int = CHUNK_EVENTS,
    ) -> None:
        self.history = history
        self.store = store
        self.rollups = rollups
        self.processor = BatchProcessor(hotspots or hotspots_by_code(), BACKFILL_POLICY)
        self.chunk_events = chunk_events
        self._offset = 0  # record positions for the processor's duplicate check

    def load(self, events: Sequence[CityEvent], now: datetime | None = None) -> BackfillReport:
        ordered = sorted(events, key=lambda e: (e.event_time, e.event_id))
        report = BackfillReport(read=len(ordered))
        at = now or datetime.now(UTC)
        for chunk in minute_chunks(ordered, self.chunk_events):
            self._load_chunk(chunk, at, report)
        if ordered:
            report.first = ordered[0].event_time.astimezone(UTC)
            report.last = ordered[-1].event_time.astimezone(UTC)
            # The whole span, even when nothing was new: an earlier run may have stopped
            # between its last write and its refresh. Recomputing a rollup is idempotent.
            self.rollups.refresh_rollups(report.first, report.last + MINUTE)
        return report

    def _load_chunk(
        self, chunk: Sequence[CityEvent], now: datetime, report: BackfillReport
    ) -> None:
        lo, hi = chunk[0].event_time, chunk[-1].event_time
        stored = self.history.stored_event_ids([e.event_id for e in chunk], lo, hi)
        counted = self.history.counted_windows(bucket_of(lo.astimezone(UTC)), hi)
        plan = plan_chunk(chunk, stored, counted)
        report.already += plan.already
        report.partial_windows += plan.partial_windows
        records = []
        for event in plan.to_process:
            records.append(
                RawRecord(
                    _RECORD_TOPIC,
                    0,
                    self._offset,
                    event.partition_key().encode(),
                    encode_event(event),
                )
            )
            self._offset += 1
        result = self.processor.process(records, {}, now)
        report.rejected.update(d.reason for d in result.dead)
        counted_only = [r for r in result.readings if r.event_id in plan.stats_only]
        result.readings = [r for r in result.readings if r.event_id not in plan.stats_only]
        report.stored += len(result.readings)
        report.windows_completed += len(counted_only)
        # History leaves the live bookkeeping alone: no offsets, no dead-letter counts.
        result.dead.clear()
        result.next_offsets.clear()
        result.first_offsets.clear()
        result.events.clear()
        if result.readings or result.stats:
            self.store.write(result)


# Each stats row of the span with the distinct readings stored raw in its minute.
_WINDOWS = """
SELECT s.area_code, s.zone_id, s.source, s.bucket, s.samples, coalesce(r.stored, 0)
  FROM crowd_stats_1m s
  LEFT JOIN (SELECT area_code, zone_id, source, date_trunc('minute', event_time) AS bucket,
                    count(DISTINCT event_id) AS stored
               FROM crowd_readings
              WHERE event_time >= %(lo)s AND event_time < %(hi)s + interval '1 minute'
              GROUP BY 1, 2, 3, 4) r USING (area_code, zone_id, source, bucket)
 WHERE s.bucket >= %(lo)s AND s.bucket <= %(hi)s
"""


class PostgresStoredHistory:
    """Reads which readings and windows of a span the database holds."""

    def __init__(self, conninfo: str) -> None:
        self._conn = psycopg.connect(conninfo, autocommit=True)

    def close(self) -> None:
        self._conn.close()

    def stored_event_ids(self, ids: Sequence[str], lo: datetime, hi: datetime) -> set[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT event_id FROM crowd_readings"
            " WHERE event_time >= %s AND event_time <= %s AND event_id = ANY(%s)",
            (lo, hi, list(ids)),
        ).fetchall()
        return {str(r[0]) for r in rows}

    def counted_windows(self, lo: datetime, hi: datetime) -> dict[StatsKey, Window]:
        rows = self._conn.execute(_WINDOWS, {"lo": lo, "hi": hi}).fetchall()
        return {
            (str(a), str(z), str(s), _aware(b)): Window(int(str(n)), int(str(m)))
            for a, z, s, b, n, m in rows
        }

    def refresh_continuous_aggregates(self, lo: datetime, hi: datetime) -> None:
        """On TimescaleDB the rollups are continuous aggregates whose policy refreshes only
        the last 3 days; older history needs an explicit refresh (outside a transaction,
        hence here on the autocommit connection). A no-op on stock PostgreSQL."""
        if detect_backend(self._conn) != "timescaledb":
            return
        for view in ("crowd_stats_15m", "crowd_stats_1h", "crowd_stats_1d"):
            self._conn.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, lo, hi))


def _aware(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"bucket is {type(value).__name__}, not a timestamp")
    return value


def read_log(path: Path) -> tuple[list[CityEvent], list[Reject]]:
    """A recorded Seoul log by its kind: ppldata.json (+ places.csv beside it) or the CSV."""
    if path.suffix == ".json":
        places = path.with_name("places.csv")
        return load_recorded_logs(
            five_min_json=path, places_csv=places if places.exists() else None
        )
    return load_recorded_logs(hourly_csv=path)


def run(args: argparse.Namespace, settings: StackSettings) -> int:
    """`citypulse backfill FILE...`: 0 when every file loaded, 1 when one could not be
    read (the others still load), 2 when nothing could start."""
    paths = [Path(name) for name in args.paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.stderr.write(f"citypulse: no such file: {', '.join(missing)}\n")
        return 2
    try:
        history = PostgresStoredHistory(settings.db_conninfo)
    except psycopg.OperationalError as exc:
        sys.stderr.write(f"citypulse: database unavailable: {exc}\n")
        return 2
    store = PostgresBatchStore(settings.db_conninfo, BACKFILL_CONSUMER)
    rollups = Housekeeping(settings.db_conninfo)
    code = 0
    try:
        for path in paths:
            try:
                events, rejects = read_log(path)
            except (OSError, UnicodeDecodeError) as exc:
                sys.stderr.write(f"citypulse: cannot read {path}: {exc}\n")
                code = 1
                continue
            for r in rejects[:20]:  # enough to act on; the count says the rest
                log.warning("rejected %s:%s %s: %s", r.source_file, r.record, r.field, r.reason)
            report = Backfill(history, store, rollups).load(events)
            if report.first is not None and report.last is not None:
                history.refresh_continuous_aggregates(
                    report.first - timedelta(days=1), report.last + timedelta(days=1)
                )
            sys.stdout.write(
                f"backfilled {path}: {report.summary()}; {len(rejects)} rejects on reading\n"
            )
    finally:
        history.close()
        store.close()
        rollups.close()
    return code


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bf = sub.add_parser(
        "backfill",
        help="load a recorded Seoul log into the database as history (raw rows, stats, "
        "rollups), bypassing Kafka, the live state and the alerts",
    )
    bf.add_argument("paths", nargs="+", help="hourly log CSV or 5-minute ppldata.json")
    # The command line hands every command the root Settings; the backfill needs its stack.
    bf.set_defaults(func=lambda args, config: run(args, config.stack))
