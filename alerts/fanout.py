"""Fan-out: notifications -> one SMS per recipient, in the recipient's language. Pure.

Several notifications in one batch (a district's grouping window) become one grouped
message per recipient, holding only the alerts that recipient is subscribed to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.lifecycle import Notification, TemplateKind
from alerts.messages import RenderedMessage, render_message
from alerts.recipients import MessageRateLimiter, Recipient, RecipientDirectory


@dataclass(frozen=True)
class PlannedSms:
    recipient: Recipient
    message: RenderedMessage
    alert_ids: tuple[str, ...]


@dataclass(frozen=True)
class Fanout:
    messages: tuple[PlannedSms, ...]
    rate_limited: tuple[tuple[Recipient, tuple[str, ...]], ...]  # recorded, not texted


def plan_sms(
    batch: Sequence[Notification],
    directory: RecipientDirectory,
    limiter: MessageRateLimiter,
    now: datetime,
) -> Fanout:
    chosen: dict[str, tuple[Recipient, list[Notification]]] = {}
    for n in batch:
        subject = n.record.subject
        for r in directory.select(
            n.tiers, subject.district, subject.area_code, n.record.extra_groups
        ):
            chosen.setdefault(r.recipient_id, (r, []))[1].append(n)
    messages: list[PlannedSms] = []
    limited: list[tuple[Recipient, tuple[str, ...]]] = []
    for recipient, notes in chosen.values():
        ids = tuple(n.alert_id for n in notes)
        severity = max(n.record.severity for n in notes)
        if not limiter.admit(recipient.recipient_id, severity, now):
            limited.append((recipient, ids))
            continue
        kind = notes[0].kind if len(notes) == 1 else TemplateKind.GROUPED
        text = render_message(kind, recipient.language, [n.record for n in notes])
        messages.append(PlannedSms(recipient, text, ids))
    return Fanout(tuple(messages), tuple(limited))
