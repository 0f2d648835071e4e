"""Alert rows <-> alerts.lifecycle.AlertRecord, and the reads the worker and the API share.

The database is the system of record for alerts: every change loads the record under a
row lock (`FOR UPDATE`), applies a pure transition and writes it back (alerts/store.py),
so two processes acting on one alert serialise instead of overwriting each other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alerts.lifecycle import AlertRecord, AlertStatus
from alerts.recipients import PhoneNumberError, Recipient, RecipientDirectory
from alerts.rules import AlertSubject, Mute, OpenAlert, Reading, RuleKind, Silence
from citypulse.domain.area_state import stage_name
from citypulse.domain.stages import Stage

Conn = psycopg.AsyncConnection[Any]
Row = Mapping[str, Any]

ALERT_COLUMNS = """id, dedup_key, area_code, zone_id, rule, stage, status, density_per_m2,
    people, opened_at, updated_at, acknowledged_at, acknowledged_by, resolved_at,
    resolved_by, tier, district, name_ko, name_en, peak_stage, reading, tier_since,
    last_notified_at, reminders_sent, muted, resolution, profile, extra_groups, details"""
OPEN_STATUSES = ("open", "acknowledged")


def alert_id_text(db_id: int) -> str:
    """The id people read and quote back from an SMS: 1042 -> "A1042"."""
    return f"A{db_id}"


def alert_db_id(alert_id: str) -> int:
    return int(alert_id.removeprefix("A"))


def stage_from_name(name: str) -> Stage:
    return Stage.from_name(name)


def reading_json(r: Reading) -> str:
    return json.dumps(
        {
            "as_of": r.as_of.isoformat(),
            "density_per_m2": r.density_per_m2,
            "people": r.people,
            "trend_per_min": r.trend_per_min,
            "forecast_density_per_m2": r.forecast_density_per_m2,
            "forecast_horizon_min": r.forecast_horizon_min,
        }
    )


def _reading(row: Row) -> Reading:
    raw = row["reading"] or {}
    return Reading(
        as_of=datetime.fromisoformat(raw["as_of"]) if "as_of" in raw else row["opened_at"],
        density_per_m2=float(raw.get("density_per_m2") or row["density_per_m2"]),
        people=float(raw.get("people") or row["people"]),
        trend_per_min=raw.get("trend_per_min"),
        forecast_density_per_m2=raw.get("forecast_density_per_m2"),
        forecast_horizon_min=raw.get("forecast_horizon_min"),
    )


def mute_json(m: Mute | None) -> str | None:
    return None if m is None else json.dumps({"kind": m.kind, "by": m.by, "reason": m.reason})


def subject_of(row: Row) -> AlertSubject:
    zone = row["zone_id"] or None
    area = str(row["area_code"])
    return AlertSubject(
        key=area if zone is None else f"{area}/{zone}",
        area_code=area,
        zone_id=zone,
        district=row["district"],
        name_ko=row["name_ko"] or area,
        name_en=row["name_en"] or row["name_ko"] or area,
    )


def record_from_row(row: Row) -> AlertRecord:
    muted = row["muted"]
    stage = stage_from_name(row["stage"])
    return AlertRecord(
        alert_id=alert_id_text(int(row["id"])),
        dedup_key=row["dedup_key"],
        rule=RuleKind(row["rule"]),
        subject=subject_of(row),
        status=AlertStatus(row["status"]),
        severity=stage,
        peak_severity=stage_from_name(row["peak_stage"]) if row["peak_stage"] else stage,
        reading=_reading(row),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        muted=Mute(muted["kind"], muted["by"], muted["reason"]) if muted else None,
        tier=int(row["tier"]),
        tier_since=row["tier_since"],
        last_notified_at=row["last_notified_at"],
        reminders_sent=int(row["reminders_sent"]),
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
        resolution=row["resolution"],
        profile=row["profile"],
        extra_groups=tuple(row["extra_groups"] or ()),
    )


async def fetch_rows(conn: Conn, query: str, params: Any = None) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query.encode(), params)
        return await cur.fetchall()


async def fetch_alerts(conn: Conn, where: str, params: Any = None) -> list[dict[str, Any]]:
    """Alert rows by a fixed WHERE (and ORDER/LIMIT/lock) fragment with bound parameters."""
    query = f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {where}"  # noqa: S608 - fixed fragments
    return await fetch_rows(conn, query, params)


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
    return [
        OpenAlert(r["dedup_key"], subject_of(r), RuleKind(r["rule"]), stage_from_name(r["stage"]))
        for r in rows
    ]


async def serious_open_in_area(conn: Conn, area_code: str, except_id: int) -> bool:
    """Is any density alert of this area open at 심각 (so it still inhibits lower ones)?"""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM alerts WHERE area_code = %s AND id <> %s "
        "AND status IN ('open', 'acknowledged') AND stage = 'serious' AND rule <> 'data_gap')",
        (area_code, except_id),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def load_directory(conn: Conn) -> RecipientDirectory:
    rows = await fetch_rows(
        conn,
        "SELECT id, name, phone_e164, tier, language, groups, districts, areas, active "
        "FROM recipients ORDER BY id",
    )
    recipients = []
    for r in rows:
        try:
            recipients.append(
                Recipient(
                    recipient_id=str(r["id"]), name=r["name"], phone=r["phone_e164"],
                    tier=int(r["tier"]), language=r["language"], groups=frozenset(r["groups"]),
                    districts=frozenset(r["districts"]), area_codes=frozenset(r["areas"]),
                    active=bool(r["active"]),
                )
            )  # fmt: skip
        except (PhoneNumberError, ValueError):
            continue  # not a Korean mobile: the carrier would refuse it; the API lists it
    return RecipientDirectory(tuple(recipients))


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


async def load_silences(conn: Conn, at: datetime) -> list[Silence]:
    """Silences not yet over at `at` (current and future ones)."""
    rows = await fetch_rows(conn, "SELECT * FROM silences WHERE ends_at > %s ORDER BY id", (at,))
    return [silence_from_row(r) for r in rows]


def stage_text(stage: Stage) -> str:
    return stage_name(stage)
