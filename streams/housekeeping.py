"""The worker's housekeeping beside the batch writer, on its own connection: the
heartbeat the API's health reads, and the rollups of the stock-PostgreSQL schema.

Retention is not here: TimescaleDB drops old chunks by its own policy
(infra/db/migrations/0002_timeseries.timescaledb.sql); a retention job for stock
PostgreSQL would be a third method of this class.
"""

from __future__ import annotations

from datetime import datetime

from streams.retrying import RetryingConnection

_HEARTBEAT = """
INSERT INTO worker_heartbeats (worker_id, role, host, pid, started_at, last_seen)
VALUES (%s, %s, %s, %s, %s, now())
ON CONFLICT (worker_id) DO UPDATE SET role = EXCLUDED.role, host = EXCLUDED.host,
    pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, last_seen = now()
"""


class Housekeeping:
    """Waits out a database outage (retrying) rather than skipping a beat silently."""

    def __init__(self, conninfo: str, retry_max_s: float = 10.0) -> None:
        self._db = RetryingConnection(conninfo, retry_max_s)

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

    def close(self) -> None:
        self._db.close()
