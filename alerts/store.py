"""The database writes of alerting: alert rows, their audit trail and the SMS outbox.

Callers open the transaction; everything written for one alert change (the row, its
audit entries, its outbox rows or its place in a grouping window) goes into it, so the
dispatcher can never send for a change that was not stored, nor miss one that was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from alerts.fanout import Fanout
from alerts.lifecycle import SYSTEM, AlertRecord, AuditEntry, Notification, Transition
from alerts.recipients import Recipient
from alerts.repository import Conn, alert_db_id, mute_json, reading_json, stage_text
from citypulse.domain.phones import mask_phone


async def save_record(conn: Conn, r: AlertRecord, *, new: bool) -> None:
    values = {
        "id": alert_db_id(r.alert_id),
        "dedup_key": r.dedup_key,
        "area_code": r.subject.area_code,
        "zone_id": r.subject.zone_id or "",
        "rule": r.rule.value,
        "stage": stage_text(r.severity),
        "peak_stage": stage_text(r.peak_severity),
        "status": r.status.value,
        "density": r.reading.density_per_m2,
        "people": r.reading.people,
        "opened_at": r.opened_at,
        "updated_at": r.updated_at,
        "acknowledged_at": r.acknowledged_at,
        "acknowledged_by": r.acknowledged_by,
        "resolved_at": r.resolved_at,
        "resolved_by": r.resolved_by,
        "tier": r.tier,
        "district": r.subject.district,
        "name_ko": r.subject.name_ko,
        "name_en": r.subject.name_en,
        "reading": reading_json(r.reading),
        "tier_since": r.tier_since,
        "last_notified_at": r.last_notified_at,
        "reminders_sent": r.reminders_sent,
        "muted": mute_json(r.muted),
        "resolution": r.resolution,
        "profile": r.profile,
        "extra_groups": list(r.extra_groups),
    }
    columns = [c for c in values if c != "density"]
    if new:
        await conn.execute(
            f"INSERT INTO alerts ({', '.join(columns)}, density_per_m2) VALUES "  # noqa: S608 - fixed names
            f"({', '.join(f'%({c})s' for c in columns)}, %(density)s)",
            values,
        )
        return
    sets = ", ".join(f"{c} = %({c})s" for c in columns if c != "id")
    await conn.execute(
        f"UPDATE alerts SET {sets}, density_per_m2 = %(density)s WHERE id = %(id)s",  # noqa: S608
        values,
    )


async def append_audit(conn: Conn, entries: Iterable[AuditEntry]) -> None:
    rows = [
        (
            alert_db_id(e.alert_id),
            e.at,
            e.who,
            e.action,
            e.why or "",
            json.dumps({"detail": e.detail}),
        )
        for e in entries
    ]
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
    await append_audit(conn, tr.audit)


async def queue_sms(conn: Conn, fanout: Fanout, now: datetime) -> int:
    """Outbox rows for planned messages, plus who was texted or held back, in the audit."""
    rows = []
    for m in fanout.messages:
        ids = [alert_db_id(a) for a in m.alert_ids]
        r, msg = m.recipient, m.message
        rows.append(
            (ids[0], ids, int(r.recipient_id), r.phone, msg.sms.kind.lower(), msg.subject,
             msg.text, msg.kind.value)
        )  # fmt: skip
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO sms_outbox (alert_id, alert_ids, recipient_id, phone_e164, kind, "
                "subject, body, template) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
    # (alert id, action, template) -> who; one audit entry each, naming masked numbers.
    audit: dict[tuple[str, str, str | None], list[str]] = {}
    for m in fanout.messages:
        for a in m.alert_ids:
            key = (a, "sms_queued", m.message.kind.value)
            audit.setdefault(key, []).append(_who(m.recipient))
    for recipient, alert_ids in fanout.rate_limited:
        for a in alert_ids:
            audit.setdefault((a, "sms_rate_limited", None), []).append(_who(recipient))
    await append_audit(
        conn,
        (AuditEntry(a, now, SYSTEM, act, ", ".join(w), tpl) for (a, act, tpl), w in audit.items()),
    )
    return len(rows)


def _who(r: Recipient) -> str:
    return f"{r.name} (tier {r.tier}, {mask_phone(r.phone)})"


async def hold_for_grouping(conn: Conn, n: Notification) -> int:
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
