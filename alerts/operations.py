"""Operator actions and queries for the API: list, get, acknowledge, resolve, comment,
silence. Each takes the caller's psycopg.AsyncConnection and runs in one transaction.

Every change goes through the pure lifecycle (alerts.lifecycle) on the row locked with
`FOR UPDATE`, so it serialises with the worker; every change writes its audit entry
(who, when, what, why). A manual resolution texts the tiers that heard of the alert
(outbox, same transaction); the worker's engine releases the dedup key on its next sync
(alerts/service.py), so the rule can fire again only after a fresh hold. Silences are
read by the worker on the same sync. Phone numbers leave here masked only.

Pass an autocommit connection (as the rest of the project uses): each action then
commits on return. On a connection already inside a transaction the action becomes a
savepoint and nothing is visible to the worker until the caller commits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerts import repository as repo
from alerts import store
from alerts.exceptions import AlertNotFound, InvalidSilence
from alerts.fanout import plan_sms
from alerts.lifecycle import AlertRecord, Transition, acknowledge, comment, resolve
from alerts.recipients import MessageRateLimiter
from alerts.repository import Conn
from alerts.rules import RuleKind, Silence
from citypulse.domain.phones import mask_phone
from citypulse.domain.stages import Stage

_STATUSES = {"open", "acknowledged", "resolved", "auto_resolved"}


def _alert_dict(row: dict[str, Any]) -> dict[str, Any]:
    stage = repo.stage_from_name(row["stage"])
    out = {k: row[k] for k in row if k not in ("details", "zone_id")}
    out.update(
        alert_id=repo.alert_id_text(int(row["id"])),
        zone_id=row["zone_id"] or None,
        stage_ko=stage.label_ko,
        extra_groups=list(row["extra_groups"] or ()),
    )
    return out


async def list_alerts(
    conn: Conn,
    *,
    status: list[str] | None = None,
    area_code: str | None = None,
    district: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first; `since` filters on the last change."""
    unknown = set(status or ()) - _STATUSES
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
    rows = await repo.fetch_alerts(
        conn,
        f"{' AND '.join(where)} ORDER BY updated_at DESC, id DESC LIMIT %s",
        (*params, max(1, min(limit, 1000))),
    )
    return [_alert_dict(r) for r in rows]


async def get_alert(conn: Conn, alert_id: int) -> dict[str, Any]:
    """The alert with its audit trail and its SMS (numbers masked, delivery reports)."""
    rows = await repo.fetch_alerts(conn, "id = %s", (alert_id,))
    if not rows:
        raise AlertNotFound(alert_id)
    alert = _alert_dict(rows[0])
    audit = await repo.fetch_rows(
        conn,
        "SELECT at, actor, action, reason, data FROM alert_audit WHERE alert_id = %s "
        "ORDER BY at, id",
        (alert_id,),
    )
    alert["audit"] = [
        {"at": a["at"], "who": a["actor"], "action": a["action"], "why": a["reason"],
         "detail": (a["data"] or {}).get("detail", "")}
        for a in audit
    ]  # fmt: skip
    sms = await repo.fetch_rows(
        conn,
        "SELECT o.id, o.recipient_id, r.name AS recipient, o.phone_e164, o.kind, o.template, "
        "o.subject, o.body, o.status, o.attempts, o.created_at, o.sent_at, o.final_at, "
        "o.last_error, (SELECT coalesce(json_agg(json_build_object('status', d.status, "
        "'provider_status', d.provider_status, 'received_at', d.received_at) "
        "ORDER BY d.id), '[]') FROM delivery_reports d WHERE d.outbox_id = o.id) AS reports "
        "FROM sms_outbox o LEFT JOIN recipients r ON r.id = o.recipient_id "
        "WHERE o.alert_id = %s OR %s = ANY(o.alert_ids) ORDER BY o.id",
        (alert_id, alert_id),
    )
    for m in sms:
        m["phone"] = mask_phone(str(m.pop("phone_e164")))
    alert["sms"] = sms
    return alert


async def _change(conn: Conn, alert_id: int, change: Any, *args: Any) -> dict[str, Any]:
    async with conn.transaction():
        record = await repo.lock_by_id(conn, alert_id)
        if record is None:
            raise AlertNotFound(alert_id)
        now = datetime.now(UTC)
        tr: Transition = change(record, *args, now)
        if tr.record is not record:
            await store.write_transition(conn, tr)
        if tr.notifications:
            await _text(conn, tr, now)
    return await get_alert(conn, alert_id)


async def _text(conn: Conn, tr: Transition, now: datetime) -> None:
    # No per-recipient limit here: an operator's "it is over" is one message per alert.
    directory = await repo.load_directory(conn)
    fanout = plan_sms(tr.notifications, directory, MessageRateLimiter(), now)
    await store.queue_sms(conn, fanout, now)


def _ack(record: AlertRecord, actor: str, note: str, now: datetime) -> Transition:
    return acknowledge(record, actor, now, note or None)


def _resolve(record: AlertRecord, actor: str, reason: str, now: datetime) -> Transition:
    return resolve(record, actor, reason, now)


async def acknowledge_alert(
    conn: Conn, alert_id: int, actor: str, note: str = ""
) -> dict[str, Any]:
    """Stops reminders and the tier chain; a higher stage later reopens it."""
    return await _change(conn, alert_id, _ack, actor, note)


async def resolve_alert(conn: Conn, alert_id: int, actor: str, reason: str) -> dict[str, Any]:
    """Closes it by hand and texts the notified tiers that it is over."""
    return await _change(conn, alert_id, _resolve, actor, reason)


async def comment_alert(conn: Conn, alert_id: int, actor: str, text: str) -> dict[str, Any]:
    return await _change(conn, alert_id, comment, actor, text)


def _silence_dict(s: dict[str, Any]) -> dict[str, Any]:
    return {**s, "rule": s["rules"][0] if s["rules"] else None}


async def create_silence(
    conn: Conn,
    *,
    area_code: str | None,
    district: str | None,
    rule: str | None,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    reason: str,
) -> dict[str, Any]:
    """Mutes texts (not alerts) up to 경계 for an area or district; 심각 breaks through."""
    try:
        rules = frozenset({RuleKind(rule)}) if rule else frozenset()
        Silence(
            "new", starts_at, ends_at, created_by, reason,
            area_codes=frozenset({area_code} if area_code else ()),
            districts=frozenset({district} if district else ()), rules=rules,
        )  # fmt: skip
    except ValueError as exc:
        raise InvalidSilence(str(exc).replace("silence new ", "silence ")) from None
    rows = await repo.fetch_rows(
        conn,
        "INSERT INTO silences (area_codes, districts, rules, max_stage, starts_at, ends_at, "
        "created_by, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        ([area_code] if area_code else [], [district] if district else [],
         [r.value for r in rules], repo.stage_text(Stage.ALERT), starts_at, ends_at,
         created_by.strip(), reason.strip()),
    )  # fmt: skip
    return _silence_dict(rows[0])


async def list_silences(conn: Conn, *, active_at: datetime | None = None) -> list[dict[str, Any]]:
    """All silences (newest first), or those active at `active_at`."""
    if active_at is None:
        rows = await repo.fetch_rows(conn, "SELECT * FROM silences ORDER BY id DESC")
    else:
        rows = await repo.fetch_rows(
            conn,
            "SELECT * FROM silences WHERE starts_at <= %s AND ends_at > %s ORDER BY id DESC",
            (active_at, active_at),
        )
    return [_silence_dict(r) for r in rows]
