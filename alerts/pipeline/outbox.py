"""The last stage of the alert path: planned messages -> outbox rows and audit entries.

`outbox_entries` is pure; `queue_sms` writes both in the caller's transaction, so the
dispatcher can never send for a change that was not stored, nor miss one that was.
"""

from __future__ import annotations

from datetime import datetime

from alerts.fanout import Fanout
from alerts.lifecycle import SYSTEM, AuditEntry
from alerts.recipients import Recipient
from alerts.tables import Conn
from alerts.tables import alerts as alert_table
from alerts.tables import outbox as outbox_table
from alerts.tables.alert_rows import alert_db_id
from citypulse.domain.phones import mask_phone


def outbox_entries(
    fanout: Fanout, now: datetime
) -> tuple[list[outbox_table.OutboxRow], list[AuditEntry]]:
    """One row per planned message; per (alert, action, template) one audit entry naming
    who was texted or held back by the rate limit (numbers masked)."""
    rows = []
    for m in fanout.messages:
        ids = tuple(alert_db_id(a) for a in m.alert_ids)
        r, msg = m.recipient, m.message
        rows.append(
            outbox_table.OutboxRow(
                ids[0], ids, int(r.recipient_id), r.phone, msg.sms.kind.lower(), msg.subject,
                msg.text, msg.kind.value,
            )
        )  # fmt: skip
    who: dict[tuple[str, str, str | None], list[str]] = {}
    for m in fanout.messages:
        for a in m.alert_ids:
            who.setdefault((a, "sms_queued", m.message.kind.value), []).append(_who(m.recipient))
    for recipient, alert_ids in fanout.rate_limited:
        for a in alert_ids:
            who.setdefault((a, "sms_rate_limited", None), []).append(_who(recipient))
    audit = [AuditEntry(a, now, SYSTEM, act, ", ".join(w), tpl) for (a, act, tpl), w in who.items()]
    return rows, audit


async def queue_sms(conn: Conn, fanout: Fanout, now: datetime) -> int:
    rows, audit = outbox_entries(fanout, now)
    await outbox_table.insert(conn, rows)
    await alert_table.append_audit(conn, audit)
    return len(rows)


def _who(r: Recipient) -> str:
    return f"{r.name} (tier {r.tier}, {mask_phone(r.phone)})"
