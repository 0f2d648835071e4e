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

CONNECT_TIMEOUT_S = 3  # a report waits for the database no longer than its caller does


class UnknownMessage(LookupError):
    """A report for no message we handed to that gateway: forged or misrouted."""


_FINAL = {"delivered": "delivered", "failed": "failed", "rejected": "failed", "expired": "failed"}


class DeliveryRecorder:
    """One connection, used under a lock; reconnects after the database comes back."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def record(self, report: DeliveryReport, *, handed_to: str | None = None) -> None:
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
            try:
                await store_report(self._conn, report, handed_to=handed_to)
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
    conninfo: str, report: DeliveryReport, *, handed_to: str | None = None
) -> None:
    loop = id(asyncio.get_running_loop())  # a connection belongs to the loop that made it
    recorder = _recorders.get((conninfo, loop))
    if recorder is None:
        recorder = _recorders[(conninfo, loop)] = DeliveryRecorder(conninfo)
    await recorder.record(report, handed_to=handed_to)


# Handed over at least once (attempts counts hand-overs and is never reset): a message
# whose send timed out may still be reported by the gateway that took it.
_HANDED_TO = "SELECT id FROM sms_outbox WHERE id = %s AND provider = %s AND attempts > 0"


async def store_report(
    conn: psycopg.AsyncConnection[Any], report: DeliveryReport, *, handed_to: str | None = None
) -> None:
    """`handed_to`: the gateway the report came from over an open channel (Kannel's
    callback); a report naming a message not handed to it raises UnknownMessage."""
    async with conn.transaction():
        if handed_to is not None:
            digits = report.message_id or ""
            found = None
            if digits.isascii() and digits.isdigit() and len(digits) <= 18:
                found = await (await conn.execute(_HANDED_TO, (int(digits), handed_to))).fetchone()
            if found is None:
                raise UnknownMessage(f"no message {digits[:20]!r} was handed to {handed_to}")
            outbox_id: int | None = int(found[0])
        elif report.message_id is not None and report.message_id.isdigit():
            outbox_id = int(report.message_id)
        else:  # an SMPP receipt after a restart names only the provider's id
            row = await (
                await conn.execute(
                    "SELECT id FROM sms_outbox WHERE provider_message_id = %s",
                    (report.provider_message_id,),
                )
            ).fetchone()
            outbox_id = int(row[0]) if row else None
        if outbox_id is None:
            return
        await conn.execute(
            "INSERT INTO delivery_reports (outbox_id, status, provider_status) VALUES (%s, %s, %s)",
            (outbox_id, report.status, report.provider_status),
        )
        final = _FINAL.get(report.status)
        if final is not None:
            await conn.execute(
                "UPDATE sms_outbox SET status = %s, final_at = now() WHERE id = %s "
                "AND status NOT IN ('delivered', 'failed')",
                (final, outbox_id),
            )
