"""Recording delivery reports against the outbox, from whichever process receives them.

Idempotent: a report for a message already in a final state is kept for the audit trail
but never moves the message back.
"""

from __future__ import annotations

from typing import Any

import psycopg

from alerts.providers.base import DeliveryReport

_FINAL = {"delivered": "delivered", "failed": "failed", "rejected": "failed", "expired": "failed"}


async def record_delivery_report(conninfo: str, report: DeliveryReport) -> None:
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        await store_report(conn, report)


async def store_report(conn: psycopg.AsyncConnection[Any], report: DeliveryReport) -> None:
    async with conn.transaction():
        if report.message_id is not None and report.message_id.isdigit():
            outbox_id: int | None = int(report.message_id)
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
