"""The worker's housekeeping beside the batch writer, on its own connections: the
heartbeat the API's health reads, the rollups of the stock-PostgreSQL schema, and
retention (streams/retention.py says what is kept; `PostgresRetention` does the dropping).

On TimescaleDB, its own policies (infra/db/migrations/0002_timeseries.timescaledb.sql)
drop old chunks and refresh the rollups; housekeeping watches those jobs and does the
work of any that fail (infra/db/timescale_jobs.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from infra.db.migrate import Backend, detect_backend
from infra.db.timescale_jobs import PolicyJob, read_policy_jobs
from streams.retention import Fallback, RetentionPolicy, RetentionReport, run_retention
from streams.retrying import Conn, RetryingConnection

log = logging.getLogger(__name__)

_HEARTBEAT = """
INSERT INTO worker_heartbeats (worker_id, role, host, pid, started_at, last_seen)
VALUES (%s, %s, %s, %s, %s, now())
ON CONFLICT (worker_id) DO UPDATE SET role = EXCLUDED.role, host = EXCLUDED.host,
    pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, last_seen = now()
"""
# One retention pass per schema at a time, however many workers run it.
_RETENTION_LOCK = 0x43_50_52_54  # "CPRT"
# Dropping a partition locks its parent: a batch write in flight would wait behind it,
# so the drop gives up soon and is tried again at the next pass.
_DROP_LOCK_TIMEOUT = "3s"


class Housekeeping:
    """Waits out a database outage (retrying) rather than skipping a beat silently."""

    def __init__(self, conninfo: str, retry_max_s: float = 10.0) -> None:
        self._db = RetryingConnection(conninfo, retry_max_s)
        # Retention holds locks for seconds: never on the heartbeat's connection.
        self._retention = PostgresRetention(RetryingConnection(conninfo, retry_max_s))

    def heartbeat(self, worker_id: str, role: str, host: str, pid: int, started: datetime) -> None:
        self._db.run(
            lambda c: c.execute(_HEARTBEAT, (worker_id, role, host, pid, started)), "heartbeat"
        )

    def refresh_rollups(self, since: datetime | None, now: datetime) -> None:
        """Recompute rollups touched since `since` (a no-op on TimescaleDB, and for None)."""
        if since is None:
            return
        self._db.run(
            lambda c: c.execute("SELECT cp_refresh_crowd_rollups(%s, %s)", (since, now)),
            "refresh rollups",
        )

    def apply_retention(self, policy: RetentionPolicy, now: datetime) -> RetentionReport | None:
        """One retention pass; None when another worker is running one."""
        return self._retention.apply(policy, now)

    def close(self) -> None:
        self._db.close()
        self._retention.db.close()


class PostgresRetention:
    """`RetentionStore` on a live database (both backends)."""

    def __init__(self, db: RetryingConnection) -> None:
        self.db = db
        self._backend: Backend | None = None

    def apply(self, policy: RetentionPolicy, now: datetime) -> RetentionReport | None:
        conn = self.db.connection()
        conn.autocommit = True  # each drop its own transaction; CALL refresh needs it
        if not _fetch_bool(conn, "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))"):
            return None
        try:
            report = run_retention(self, policy, now)
        finally:
            _fetch_bool(conn, "SELECT pg_advisory_unlock(%s, hashtext(current_schema()))")
        _log_report(report)
        return report

    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = detect_backend(self.db.connection())
        return self._backend

    def partitions(self, parent: str) -> list[str]:
        rows = self.db.connection().execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(%s)",
            (parent,),
        )
        return [str(r[0]) for r in rows.fetchall()]

    def drop_partition(self, name: str) -> bool:
        conn = self.db.connection()
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{_DROP_LOCK_TIMEOUT}'")
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
        except psycopg.errors.LockNotAvailable:
            log.info("partition %s busy; dropped at the next retention pass", name)
            return False
        return True

    def delete_older(self, table: str, time_column: str, cutoff: datetime) -> int:
        if self.db.connection().execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,):
            return 0
        cur = self.db.connection().execute(
            sql.SQL("DELETE FROM {} WHERE {} < %s").format(
                sql.Identifier(table), sql.Identifier(time_column)
            ),
            (cutoff,),
        )
        return max(cur.rowcount, 0)

    def policy_jobs(self) -> list[PolicyJob]:
        return read_policy_jobs(self.db.connection())

    def run_fallback(self, fallback: Fallback) -> None:
        """The failing job's own work, with its own settings, in this session."""
        conn = self.db.connection()
        cfg = fallback.config
        if fallback.kind == "drop_chunks":
            conn.execute(
                "SELECT drop_chunks(%s::regclass, older_than => now() - %s::interval)",
                (fallback.relation, cfg.get("drop_after", "90 days")),
            )
        else:
            conn.execute(
                "CALL refresh_continuous_aggregate(%s::regclass,"
                " now() - %s::interval, now() - %s::interval)",
                (fallback.relation, cfg.get("start_offset"), cfg.get("end_offset")),
            )


def _fetch_bool(conn: Conn, query: str) -> bool:
    row: Any = conn.execute(query, (_RETENTION_LOCK,)).fetchone()
    return bool(row and row[0])


def _log_report(report: RetentionReport) -> None:
    for health in report.failing_jobs:
        job = health.job
        log.warning(
            "TimescaleDB job %d (%s on %s) %s, %d failures so far",
            job.job_id, job.proc_name, job.relation, health.problem, job.total_failures,
        )  # fmt: skip
    for fallback in report.fallbacks:
        log.warning("housekeeping did job %d's work: %s %s",
                    fallback.job_id, fallback.kind, fallback.relation)  # fmt: skip
    if report.dropped or report.deleted_rows:
        log.info(
            "retention dropped %d partition(s) (%s), %d old row(s) from default partitions",
            len(report.dropped), ", ".join(report.dropped), report.deleted_rows,
        )  # fmt: skip
