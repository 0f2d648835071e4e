"""How long each time series is kept, and what housekeeping drops: pure, no database.

The same policy on both backends: raw readings (`crowd_readings`, `environment_readings`)
are kept `raw_days` (90 by default, TimescaleDB's retention policy in
infra/db/migrations/0002_timeseries.timescaledb.sql), the 1-minute stats `stats_1m_days`,
and the 15-minute, hourly and daily rollups for good. On stock PostgreSQL a time series
is split into daily partitions named `<table>_pYYYYMMDD` (cp_ensure_day_partitions); a
partition goes once the whole of its day is older than the table's retention, as
TimescaleDB drops a chunk only when all of it is older than `drop_after`.

On TimescaleDB, `fallbacks` says which of TimescaleDB's own jobs housekeeping must do
itself because they are failing (infra/db/timescale_jobs.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

from infra.db.migrate import Backend
from infra.db.timescale_jobs import JobHealth, PolicyJob, unhealthy

_PARTITION = re.compile(r"^(?P<parent>.+)_p(?P<day>\d{8})$")


@dataclass(frozen=True)
class RetainedTable:
    table: str
    time_column: str
    series: Literal["raw", "stats_1m"]


# What retention applies to. The rollups (crowd_stats_15m/_1h/_1d) are not listed: kept.
RETAINED = (
    RetainedTable("crowd_readings", "event_time", "raw"),
    RetainedTable("environment_readings", "event_time", "raw"),
    RetainedTable("crowd_stats_1m", "bucket", "stats_1m"),
)


@dataclass(frozen=True)
class RetentionPolicy:
    raw_days: int = 90
    stats_1m_days: int = 400

    def keep(self, table: RetainedTable) -> timedelta:
        return timedelta(days=self.raw_days if table.series == "raw" else self.stats_1m_days)

    def cutoff(self, table: RetainedTable, now: datetime) -> datetime:
        """Rows older than this are past their retention."""
        return now - self.keep(table)


def partition_day(parent: str, name: str) -> date | None:
    """The day a partition `<parent>_pYYYYMMDD` holds; None for any other table (the
    default partition, one an operator attached by hand)."""
    m = _PARTITION.match(name)
    if m is None or m.group("parent") != parent:
        return None
    try:
        return datetime.strptime(m.group("day"), "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None


def expired_partitions(parent: str, names: Iterable[str], cutoff: datetime) -> list[str]:
    """The daily partitions of `parent` whose whole day (UTC) ends at or before `cutoff`."""
    expired = []
    for name in names:
        day = partition_day(parent, name)
        if day is None:
            continue
        day_end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        if day_end <= cutoff:
            expired.append(name)
    return sorted(expired)


@dataclass(frozen=True)
class Fallback:
    """A failing TimescaleDB job's work, done by housekeeping instead."""

    kind: Literal["drop_chunks", "refresh"]
    relation: str
    job_id: int
    config: Mapping[str, Any]  # the job's own (drop_after; start_offset, end_offset)


def fallbacks(failing: Iterable[JobHealth]) -> list[Fallback]:
    """Retention and continuous-aggregate refresh jobs that fail are done by housekeeping;
    a failing compression job is only reported (uncompressed chunks cost disk, not data)."""
    plan = []
    for h in failing:
        if h.ok:
            continue
        if h.job.kind == "retention":
            plan.append(Fallback("drop_chunks", h.job.relation, h.job.job_id, h.job.config))
        elif h.job.kind == "refresh":
            plan.append(Fallback("refresh", h.job.relation, h.job.job_id, h.job.config))
    return plan


class RetentionStore(Protocol):
    """The database side of retention (streams/housekeeping.py); a fake in the tests."""

    def backend(self) -> Backend: ...
    def partitions(self, parent: str) -> list[str]: ...
    def drop_partition(self, name: str) -> bool: ...  # False: its lock was not had in time
    def delete_older(self, table: str, time_column: str, cutoff: datetime) -> int: ...
    def policy_jobs(self) -> list[PolicyJob]: ...
    def run_fallback(self, fallback: Fallback) -> None: ...


@dataclass
class RetentionReport:
    backend: Backend
    dropped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # busy: dropped at the next run
    deleted_rows: int = 0  # old rows that had landed in a default partition
    failing_jobs: list[JobHealth] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)


def run_retention(store: RetentionStore, policy: RetentionPolicy, now: datetime) -> RetentionReport:
    """One housekeeping pass. On TimescaleDB its own policies drop chunks and refresh the
    rollups; only the work of failing ones is done here. On stock PostgreSQL, the daily
    partitions past retention are dropped and the default partitions purged."""
    report = RetentionReport(store.backend())
    if report.backend == "timescaledb":
        report.failing_jobs = unhealthy(store.policy_jobs(), now)
        report.fallbacks = fallbacks(report.failing_jobs)
        for fallback in report.fallbacks:
            store.run_fallback(fallback)
        return report
    for table in RETAINED:
        cutoff = policy.cutoff(table, now)
        for name in expired_partitions(table.table, store.partitions(table.table), cutoff):
            (report.dropped if store.drop_partition(name) else report.skipped).append(name)
        report.deleted_rows += store.delete_older(
            f"{table.table}_default", table.time_column, cutoff
        )
    return report
