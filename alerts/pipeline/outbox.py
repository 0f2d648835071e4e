"""The last stage of the alert path: planned messages -> outbox rows and audit entries.

`outbox_entries` is pure; `queue_sms` writes both in the caller's transaction, so the
dispatcher can never send for a change that was not stored, nor miss one that was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from alerts.lifecycle import SYSTEM, AuditEntry
from alerts.pipeline.deliver import Addressed
from alerts.recipients import Recipient
from alerts.tables import Conn
from alerts.tables import alerts as alert_table
from alerts.tables import outbox as outbox_table
from alerts.tables.alert_rows import alert_db_id, stage_text
from citypulse.domain.phones import mask_phone


def outbox_entries(
    addressed: Sequence[Addressed], now: datetime
) -> tuple[list[outbox_table.OutboxRow], list[AuditEntry]]:
    """One row per rendered message; per (alert, action, template) one audit entry naming
    who was texted, held back by the rate limit or skipped in their quiet hours (numbers
    masked)."""
    rows = []
    who: dict[tuple[str, str, str | None], list[str]] = {}
    for a in addressed:
        if a.message is not None:
            ids = tuple(alert_db_id(i) for i in a.alert_ids)
            r, msg = a.recipient, a.message
            rows.append(
                outbox_table.OutboxRow(
                    ids[0], ids, int(r.recipient_id), r.phone, msg.sms.kind.lower(),
                    msg.subject, msg.text, msg.kind.value, stage_text(a.severity),
                    technical=a.budget == "technical",
                )
            )  # fmt: skip
        action, template = (
            ("sms_queued", a.message.kind.value)
            if a.message
            else ("sms_quiet_hours" if a.quiet else "sms_rate_limited", None)
        )
        for i in a.alert_ids:
            who.setdefault((i, action, template), []).append(_who(a.recipient))
    audit = [AuditEntry(a, now, SYSTEM, act, ", ".join(w), tpl) for (a, act, tpl), w in who.items()]
    return rows, audit


async def queue_sms(conn: Conn, addressed: Sequence[Addressed], now: datetime) -> int:
    rows, audit = outbox_entries(addressed, now)
    await outbox_table.insert(conn, rows)
    await alert_table.append_audit(conn, audit)
    return len(rows)


def _who(r: Recipient) -> str:
    return f"{r.name} (tier {r.tier}, {mask_phone(r.phone)})"
