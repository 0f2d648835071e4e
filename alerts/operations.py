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
from typing import Any, Unpack

from alerts.exceptions import AlertNotFound, InvalidSilence
from alerts.lifecycle import AlertRecord, Transition, acknowledge, comment, resolve
from alerts.pipeline.deliver import fan_out, render
from alerts.pipeline.outbox import queue_sms
from alerts.rules import RuleKind, Silence
from alerts.tables import Conn
from alerts.tables import alerts as alert_table
from alerts.tables import outbox as outbox_table
from alerts.tables import recipients as recipient_table
from alerts.tables import silences as silence_table
from alerts.tables.alert_rows import alert_dict
from alerts.tables.alerts import AlertFilters
from citypulse.domain.phones import mask_phone


async def list_alerts(conn: Conn, **filters: Unpack[AlertFilters]) -> list[dict[str, Any]]:
    """Newest change first, filtered by status, area, district, last change."""
    return [alert_dict(r) for r in await alert_table.list_rows(conn, **filters)]


async def get_alert(conn: Conn, alert_id: int) -> dict[str, Any]:
    """The alert with its audit trail and its SMS (numbers masked, delivery reports)."""
    rows = await alert_table.fetch_alerts(conn, "id = %s", (alert_id,))
    if not rows:
        raise AlertNotFound(alert_id)
    alert = alert_dict(rows[0])
    alert["audit"] = await alert_table.audit_of(conn, alert_id)
    sms = await outbox_table.messages_of_alert(conn, alert_id)
    for m in sms:
        m["phone"] = mask_phone(str(m.pop("phone_e164")))
    alert["sms"] = sms
    return alert


async def _change(
    conn: Conn, alert_id: int, change: Any, *args: Any, now: datetime | None = None
) -> dict[str, Any]:
    """`now`: the wall clock unless given (a drill's simulated time, as its worker's)."""
    async with conn.transaction():
        record = await alert_table.lock_by_id(conn, alert_id)
        if record is None:
            raise AlertNotFound(alert_id)
        now = now or datetime.now(UTC)
        tr: Transition = change(record, *args, now)
        if tr.record is not record:
            await alert_table.write_transition(conn, tr)
        if tr.notifications:
            await _text(conn, tr, now)
    return await get_alert(conn, alert_id)


async def _text(conn: Conn, tr: Transition, now: datetime) -> None:
    # No per-recipient limit here: an operator's "it is over" is one message per alert.
    directory = await recipient_table.load_directory(conn)
    await queue_sms(conn, render(fan_out(tr.notifications, directory), now), now)


def _ack(record: AlertRecord, actor: str, note: str, now: datetime) -> Transition:
    return acknowledge(record, actor, now, note or None)


def _resolve(record: AlertRecord, actor: str, reason: str, now: datetime) -> Transition:
    return resolve(record, actor, reason, now)


async def acknowledge_alert(
    conn: Conn, alert_id: int, actor: str, note: str = "", *, now: datetime | None = None
) -> dict[str, Any]:
    """Stops reminders and the tier chain; a higher stage later reopens it."""
    return await _change(conn, alert_id, _ack, actor, note, now=now)


async def resolve_alert(
    conn: Conn, alert_id: int, actor: str, reason: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Closes it by hand and texts the notified tiers that it is over."""
    return await _change(conn, alert_id, _resolve, actor, reason, now=now)


async def comment_alert(
    conn: Conn, alert_id: int, actor: str, text: str, *, now: datetime | None = None
) -> dict[str, Any]:
    return await _change(conn, alert_id, comment, actor, text, now=now)


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
        silence = Silence(
            "new", starts_at, ends_at, created_by, reason,
            area_codes=frozenset({area_code} if area_code else ()),
            districts=frozenset({district} if district else ()),
            rules=frozenset({RuleKind(rule)}) if rule else frozenset(),
        )  # fmt: skip
    except ValueError as exc:
        raise InvalidSilence(str(exc).replace("silence new ", "silence ")) from None
    return _silence_dict(await silence_table.insert(conn, silence))


async def list_silences(conn: Conn, *, active_at: datetime | None = None) -> list[dict[str, Any]]:
    """All silences (newest first), or those active at `active_at`."""
    return [_silence_dict(r) for r in await silence_table.listing(conn, active_at=active_at)]
