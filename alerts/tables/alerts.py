"""The `alerts` table and its append-only `alert_audit` trail: the only SQL for them.

The database is the system of record for alerts: every change loads the record under a
row lock (`FOR UPDATE`), applies a pure lifecycle transition and writes it back, so two
processes acting on one alert serialise instead of overwriting each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypedDict, Unpack

from alerts.lifecycle import AlertRecord, AuditEntry, Transition
from alerts.rules import OpenAlert
from alerts.tables import Conn, fetch_rows
from alerts.tables.alert_rows import (
    ALERT_COLUMNS,
    alert_db_id,
    open_alert_of,
    record_from_row,
    record_values,
    state_of,
)

_STATUSES = ("open", "acknowledged", "resolved", "auto_resolved")


async def fetch_alerts(conn: Conn, where: str, params: Any = None) -> list[dict[str, Any]]:
    """Alert rows by a fixed WHERE (and ORDER/LIMIT/lock) fragment with bound parameters."""
    query = f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {where}"  # noqa: S608 - fixed fragments
    return await fetch_rows(conn, query, params)


# -- the worker's reads ----------------------------------------------------------------


async def lock_open_by_key(conn: Conn, dedup_key: str) -> AlertRecord | None:
    rows = await fetch_alerts(
        conn, "dedup_key = %s AND status IN ('open', 'acknowledged') FOR UPDATE", (dedup_key,)
    )
    return record_from_row(rows[0]) if rows else None


async def lock_by_id(conn: Conn, db_id: int) -> AlertRecord | None:
    rows = await fetch_alerts(conn, "id = %s FOR UPDATE", (db_id,))
    return record_from_row(rows[0]) if rows else None


async def records_by_ids(conn: Conn, db_ids: list[int]) -> dict[int, AlertRecord]:
    rows = await fetch_alerts(conn, "id = ANY(%s)", (db_ids,))
    return {int(r["id"]): record_from_row(r) for r in rows}


async def next_alert_id(conn: Conn) -> int:
    cur = await conn.execute("SELECT nextval(pg_get_serial_sequence('alerts', 'id'))")
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - nextval always returns a row
    return int(row[0])


async def open_alerts(conn: Conn) -> list[OpenAlert]:
    """What engine.restore needs after a restart."""
    rows = await fetch_alerts(conn, "status IN ('open', 'acknowledged')")
    return [open_alert_of(r) for r in rows]


async def unacknowledged_ids(conn: Conn) -> list[int]:
    rows = await fetch_rows(conn, "SELECT id FROM alerts WHERE status = 'open'")
    return [int(r["id"]) for r in rows]


async def resolved_by_hand_since(conn: Conn, since: datetime) -> list[tuple[int, str]]:
    """(id, dedup key) of alerts an operator resolved after `since`."""
    rows = await fetch_rows(
        conn,
        "SELECT id, dedup_key FROM alerts WHERE status = 'resolved' AND resolved_at > %s",
        (since,),
    )
    return [(int(r["id"]), str(r["dedup_key"])) for r in rows]


async def serious_open_in_area(conn: Conn, area_code: str, except_id: int) -> bool:
    """Is any density alert of this area open at 심각 (so it still inhibits lower ones)?"""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM alerts WHERE area_code = %s AND id <> %s "
        "AND status IN ('open', 'acknowledged') AND stage = 'serious' AND rule <> 'data_gap')",
        (area_code, except_id),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def is_open(conn: Conn, dedup_key: str) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM alerts WHERE dedup_key = %s "
        "AND status IN ('open', 'acknowledged'))",
        (dedup_key,),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


# -- writes ------------------------------------------------------------------------------


async def save_record(conn: Conn, r: AlertRecord, *, new: bool) -> None:
    values = record_values(r)
    columns = list(values)
    if new:
        await conn.execute(
            f"INSERT INTO alerts ({', '.join(columns)}) VALUES "  # noqa: S608 - fixed names
            f"({', '.join(f'%({c})s' for c in columns)})",
            values,
        )
        return
    sets = ", ".join(f"{c} = %({c})s" for c in columns if c != "id")
    await conn.execute(f"UPDATE alerts SET {sets} WHERE id = %(id)s", values)  # noqa: S608


async def append_audit(
    conn: Conn, entries: Iterable[AuditEntry], state: dict[str, Any] | None = None
) -> None:
    """`state`: the alert as the change left it (alert_rows.state_of), stored with each
    entry as `data.state` (from 2026-12; older entries have none)."""
    extra = {"state": state} if state is not None else {}
    rows = [
        (alert_db_id(e.alert_id), e.at, e.who, e.action, e.why or "",
         json.dumps({"detail": e.detail, **extra}))
        for e in entries
    ]  # fmt: skip
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO alert_audit (alert_id, at, actor, action, reason, data) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )


async def write_transition(conn: Conn, tr: Transition, *, new: bool = False) -> None:
    """The record and its audit; notifications are the caller's (send now or batch)."""
    await save_record(conn, tr.record, new=new)
    await append_audit(conn, tr.audit, state_of(tr.record))


# -- the API's reads ---------------------------------------------------------------------


class AlertFilters(TypedDict, total=False):
    status: list[str] | None
    area_code: str | None
    district: str | None
    since: datetime | None  # the last change at or after
    limit: int  # 100 unless given; 1 to 1000


async def list_rows(conn: Conn, **filters: Unpack[AlertFilters]) -> list[dict[str, Any]]:
    """Newest change first."""
    status, since = filters.get("status"), filters.get("since")
    area_code, district = filters.get("area_code"), filters.get("district")
    limit = filters.get("limit", 100)
    unknown = set(status or ()) - set(_STATUSES)
    if unknown:
        raise ValueError(f"unknown status {sorted(unknown)}; use {sorted(_STATUSES)}")
    where, params = ["TRUE"], []
    for cond, value in (
        ("status = ANY(%s)", status),
        ("area_code = %s", area_code),
        ("district = %s", district),
        ("updated_at >= %s", since),
    ):
        if value:
            where.append(cond)
            params.append(value)
    return await fetch_alerts(
        conn,
        f"{' AND '.join(where)} ORDER BY updated_at DESC, id DESC LIMIT %s",
        (*params, max(1, min(limit, 1000))),
    )


async def audit_of(conn: Conn, db_id: int) -> list[dict[str, Any]]:
    rows = await fetch_rows(
        conn,
        "SELECT at, actor, action, reason, data FROM alert_audit WHERE alert_id = %s "
        "ORDER BY at, id",
        (db_id,),
    )
    return [
        {"at": a["at"], "who": a["actor"], "action": a["action"], "why": a["reason"],
         "detail": (a["data"] or {}).get("detail", "")}
        for a in rows
    ]  # fmt: skip


async def open_count_by_stage(conn: Conn) -> list[dict[str, Any]]:
    return await fetch_rows(
        conn,
        "SELECT stage, status, count(*)::int AS n FROM alerts "
        "WHERE status IN ('open', 'acknowledged') GROUP BY stage, status",
    )


FEED_COLUMNS = (
    "id, area_code, zone_id, rule, stage, status, density_per_m2, people, opened_at, "
    "updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, tier"
)
_CHANGED_AT = (
    "greatest(updated_at, coalesce(acknowledged_at, updated_at), coalesce(resolved_at, updated_at))"
)
_CHANGED = (
    f"SELECT {FEED_COLUMNS}, {_CHANGED_AT} AS changed_at FROM alerts "  # noqa: S608 - constants
    f"WHERE {_CHANGED_AT} > %s ORDER BY changed_at LIMIT 500"
)


async def changed_since(conn: Conn, since: datetime) -> list[dict[str, Any]]:
    """Alerts changed (opened, updated, acknowledged, resolved) after `since`, oldest
    change first, at most 500: the operator stream's poll."""
    return await fetch_rows(conn, _CHANGED, (since,))


async def newest_open_alert_texted(
    conn: Conn, recipient_ids: list[int], since: datetime
) -> tuple[int, int] | None:
    """(alert id, recipient id) of the newest open alert texted to one of the recipients
    since `since`: an alert that asked to be acknowledged and still waits for it."""
    rows = await fetch_rows(
        conn,
        "SELECT a.id AS alert_id, o.recipient_id FROM sms_outbox o "
        "JOIN alerts a ON a.id = ANY (o.alert_ids) OR a.id = o.alert_id "
        "WHERE o.recipient_id = ANY (%s) AND o.created_at >= %s AND a.status = 'open' "
        "ORDER BY o.created_at DESC, a.id DESC LIMIT 1",
        (recipient_ids, since),
    )
    return (int(rows[0]["alert_id"]), int(rows[0]["recipient_id"])) if rows else None


async def decision_trail(conn: Conn, actions: Sequence[str]) -> list[tuple[str, ...]]:
    """(area, zone, rule, action, stages) of the audit entries with these actions, in
    order; the stages are the detail's head ("stage 경계", "경계 -> 심각")."""
    cur = await conn.execute(
        "SELECT a.area_code, a.zone_id, a.rule, au.action, "
        "split_part(au.data->>'detail', ':', 1) FROM alert_audit au "
        "JOIN alerts a ON a.id = au.alert_id WHERE au.action = ANY(%s) ORDER BY au.id",
        (list(actions),),
    )
    return [tuple(str(v) for v in r) for r in await cur.fetchall()]


# -- the record after an incident (dashboard_api/record) ------------------------------------


async def trail_of(conn: Conn, db_ids: list[int]) -> list[dict[str, Any]]:
    """Every audit entry of these alerts as stored (detail, and from 2026-12 on the
    alert's state with it), oldest first."""
    return await fetch_rows(
        conn,
        "SELECT id, alert_id, at, actor, action, reason, data FROM alert_audit "
        "WHERE alert_id = ANY(%s) ORDER BY at, id",
        (db_ids,),
    )


async def alerts_overlapping(
    conn: Conn, area_codes: list[str], start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    """Alerts of these areas open at some time in [start, end), oldest first."""
    return await fetch_alerts(
        conn,
        "area_code = ANY(%s) AND opened_at < %s AND (resolved_at IS NULL OR resolved_at >= %s) "
        "ORDER BY opened_at, id LIMIT %s",
        (area_codes, end, start, limit),
    )
