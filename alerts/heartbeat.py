"""A heartbeat row for processes of the alert path (the dispatcher), in the table the
stream workers beat in, so the watchdog and the feeds page read one place."""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any

import psycopg

_BEAT = """INSERT INTO worker_heartbeats (worker_id, role, host, pid, started_at, last_seen)
VALUES (%s, %s, %s, %s, %s, now())
ON CONFLICT (worker_id) DO UPDATE SET role = EXCLUDED.role, host = EXCLUDED.host,
    pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, last_seen = now()"""


async def beat(conn: psycopg.AsyncConnection[Any], role: str, started: datetime) -> None:
    host = socket.gethostname()
    await conn.execute(_BEAT, (f"{role}@{host}", role, host, os.getpid(), started))
