"""Reads for the health of the feeds; event-day profiles. (Alert counts are re-exported
from alerts/tables, which owns that table; recipients are read there directly.)"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from alerts.tables import alerts as alert_table


async def _rows(
    conn: AsyncConnection[Any], query: str, params: tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def worker_heartbeats(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    return await _rows(
        conn,
        "SELECT worker_id, role, last_seen, extract(epoch FROM now() - last_seen)::float8 AS age_s "
        "FROM worker_heartbeats ORDER BY worker_id",
    )


async def dead_letters(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    return await _rows(
        conn, "SELECT reason, count, last_at FROM dead_letter_counts ORDER BY count DESC"
    )


# The alerts table belongs to alerts/tables/; the API reads it there.
open_alerts_by_stage = alert_table.open_count_by_stage


async def event_days(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    return await _rows(
        conn,
        "SELECT id, name, starts_at, ends_at, thresholds, area_codes, created_by, "
        "expected_people FROM event_day_profiles WHERE ends_at > now() - interval '30 days' "
        "ORDER BY starts_at",
    )


async def create_event_day(
    conn: AsyncConnection[Any],
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    thresholds: dict[str, float],
    area_codes: list[str],
    created_by: str,
    expected_people: int | None = None,
) -> dict[str, Any]:
    rows = await _rows(
        conn,
        "INSERT INTO event_day_profiles (name, starts_at, ends_at, thresholds, area_codes, "
        "created_by, expected_people) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "RETURNING id, name, starts_at, ends_at, thresholds, area_codes, created_by, "
        "expected_people",
        (name, starts_at, ends_at, json.dumps(thresholds), area_codes, created_by,
         expected_people),
    )  # fmt: skip
    return rows[0]


async def delete_event_day(conn: AsyncConnection[Any], profile_id: int) -> bool:
    cur = await conn.execute("DELETE FROM event_day_profiles WHERE id = %s", (profile_id,))
    return cur.rowcount == 1
