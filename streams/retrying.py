"""One PostgreSQL connection that waits out an outage: an operation that meets a lost
connection is retried on a new one, with backoff, until the database answers.

The stream worker's writers use it so a database outage stalls the stream, never drops
a batch or a beat (streams/sink.py, streams/housekeeping.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg

log = logging.getLogger(__name__)
T = TypeVar("T")
Conn = psycopg.Connection[tuple[object, ...]]


class RetryingConnection:
    def __init__(self, conninfo: str, retry_max_s: float = 10.0) -> None:
        self.conninfo = conninfo
        self.retry_max_s = retry_max_s
        self._conn: Conn | None = None

    def connection(self) -> Conn:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def run(self, op: Callable[[Conn], T], what: str) -> T:
        """`op` in a transaction, committed; retried whole after a lost connection."""
        delay = 0.2
        while True:
            try:
                conn = self.connection()
                result = op(conn)
                conn.commit()
                return result
            except psycopg.OperationalError as exc:
                log.warning(
                    "database unavailable during %s (%s); retrying in %.1fs", what, exc, delay
                )
                self.close()
                self._conn = None
                time.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
