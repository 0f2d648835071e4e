"""The `alert_notifications` table: FIREs waiting for their district's grouping window.

A row is written in the same transaction as the alert it announces and turned into
outbox rows (alone or grouped) when its window passes, so the wait survives a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.lifecycle import Notification
from alerts.tables import Conn, fetch_rows
from alerts.tables.alert_rows import alert_db_id, stage_text


async def hold(conn: Conn, n: Notification) -> int:
    """Store a FIRE that waits for its district's window; returns its row id."""
    cur = await conn.execute(
        "INSERT INTO alert_notifications (alert_id, template, tiers, district, stage) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (alert_db_id(n.alert_id), n.kind.value, sorted(n.tiers), n.district,
         stage_text(n.record.severity)),
    )  # fmt: skip
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING always yields the row
    return int(row[0])


async def waiting(conn: Conn) -> list[dict[str, Any]]:
    """Rows not yet turned into outbox rows: id, district, stage, created_at."""
    return await fetch_rows(
        conn,
        "SELECT id, district, stage, created_at FROM alert_notifications "
        "WHERE queued_at IS NULL ORDER BY id",
    )


async def take(conn: Conn, ids: list[int]) -> list[dict[str, Any]]:
    """Lock the still-waiting rows of a batch: id, alert_id, template, tiers."""
    return await fetch_rows(
        conn,
        "SELECT id, alert_id, template, tiers FROM alert_notifications "
        "WHERE id = ANY(%s) AND queued_at IS NULL ORDER BY id FOR UPDATE SKIP LOCKED",
        (ids,),
    )


async def mark_queued(conn: Conn, ids: list[int], at: datetime) -> None:
    await conn.execute(
        "UPDATE alert_notifications SET queued_at = %s WHERE id = ANY(%s)", (at, ids)
    )


async def of_alerts(conn: Conn, alert_ids: list[int]) -> list[dict[str, Any]]:
    """The held FIREs of these alerts (the record after an incident), oldest first."""
    return await fetch_rows(
        conn,
        "SELECT id, alert_id, template, tiers, district, stage, created_at, queued_at "
        "FROM alert_notifications WHERE alert_id = ANY(%s) ORDER BY id",
        (alert_ids,),
    )
