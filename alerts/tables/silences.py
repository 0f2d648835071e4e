"""The `silences` table: planned-event mutes; each row is its own audit record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.rules import RuleKind, Silence
from alerts.tables import Conn, Row, fetch_rows
from alerts.tables.alert_rows import stage_from_name, stage_text


def silence_from_row(r: Row) -> Silence:
    return Silence(
        silence_id=str(r["id"]),
        starts_at=r["starts_at"],
        ends_at=r["ends_at"],
        created_by=r["created_by"],
        reason=r["reason"],
        area_codes=frozenset(r["area_codes"]),
        districts=frozenset(r["districts"]),
        rules=frozenset(RuleKind(x) for x in r["rules"]),
        max_severity=stage_from_name(r["max_stage"]),
    )


async def not_over(conn: Conn, at: datetime) -> list[Silence]:
    """Silences not yet over at `at` (current and future ones)."""
    rows = await fetch_rows(conn, "SELECT * FROM silences WHERE ends_at > %s ORDER BY id", (at,))
    return [silence_from_row(r) for r in rows]


async def insert(conn: Conn, s: Silence) -> dict[str, Any]:
    """Store a checked Silence (its id is assigned here); returns the row."""
    rows = await fetch_rows(
        conn,
        "INSERT INTO silences (area_codes, districts, rules, max_stage, starts_at, ends_at, "
        "created_by, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (sorted(s.area_codes), sorted(s.districts), sorted(r.value for r in s.rules),
         stage_text(s.max_severity), s.starts_at, s.ends_at, s.created_by.strip(),
         s.reason.strip()),
    )  # fmt: skip
    return rows[0]


async def listing(conn: Conn, *, active_at: datetime | None = None) -> list[dict[str, Any]]:
    """All silences (newest first), or those active at `active_at`."""
    if active_at is None:
        return await fetch_rows(conn, "SELECT * FROM silences ORDER BY id DESC")
    return await fetch_rows(
        conn,
        "SELECT * FROM silences WHERE starts_at <= %s AND ends_at > %s ORDER BY id DESC",
        (active_at, active_at),
    )
