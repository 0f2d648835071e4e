"""Recording delivery reports against the outbox, from whichever process receives them.

Idempotent: a report for a message already in a final state is kept for the audit trail
but never moves the message back. Kannel calls back once or twice per message and many
at a time, so reports share one connection per process (and event loop) instead of
opening one each, which exhausted the server's connections in a 1,000-message burst.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from alerts.providers.base import DeliveryReport
from alerts.tables import outbox
from alerts.tables.outbox import UnknownMessage

__all__ = ["DeliveryRecorder", "UnknownMessage", "record_delivery_report", "store_report"]

CONNECT_TIMEOUT_S = 3  # a report waits for the database no longer than its caller does


class DeliveryRecorder:
    """One connection, used under a lock; reconnects after the database comes back."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def record(
        self, report: DeliveryReport, *, handed_to: str | None = None, schema: str | None = None
    ) -> None:
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
            try:
                await store_report(self._conn, report, handed_to=handed_to, schema=schema)
            except (psycopg.OperationalError, asyncio.CancelledError):
                # Cancelled (the caller's deadline) mid-query leaves the connection busy.
                await self._conn.close()
                self._conn = None
                raise  # the caller answers 503 and Kannel calls back again

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.close()


_recorders: dict[tuple[str, int], DeliveryRecorder] = {}


async def record_delivery_report(
    conninfo: str,
    report: DeliveryReport,
    *,
    handed_to: str | None = None,
    schema: str | None = None,
) -> None:
    """`schema`: a drill's (its outbox, never the live one: alerts/tables/outbox.py)."""
    loop = id(asyncio.get_running_loop())  # a connection belongs to the loop that made it
    recorder = _recorders.get((conninfo, loop))
    if recorder is None:
        recorder = _recorders[(conninfo, loop)] = DeliveryRecorder(conninfo)
    await recorder.record(report, handed_to=handed_to, schema=schema)


async def store_report(
    conn: psycopg.AsyncConnection[Any],
    report: DeliveryReport,
    *,
    handed_to: str | None = None,
    schema: str | None = None,
) -> None:
    await outbox.record_report(
        conn, report.message_id, report.provider_message_id, report.status,
        report.provider_status, handed_to=handed_to, schema=schema,
    )  # fmt: skip
