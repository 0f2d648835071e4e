"""The delivering half of the alert path: notifications in, messages to queue out. Pure.

    group ─▶ fan out ─▶ quiet hours ─▶ rate limit ─▶ render

`group` decides when a FIRE goes (alerts/batching.py); the rest turn one batch of
notifications into at most one message per recipient and budget. Feed and system alerts
(alerts.rules.TECHNICAL_RULES) go to the technical on-call group only, on a budget of
their own, so a feed outage never uses up a control room's crowd-alert budget. A crowd
message below 심각 inside the recipient's quiet hours is recorded and not texted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from alerts.batching import NotificationBatcher
from alerts.lifecycle import Notification, TemplateKind
from alerts.messages import RenderedMessage, render_message
from alerts.phone_ack.links import LinkMaker
from alerts.playbooks import PlaybookGuide
from alerts.recipients import (
    MessageRateLimiter,
    Recipient,
    RecipientDirectory,
    in_quiet_hours,
)
from alerts.rules import TECHNICAL_RULES
from alerts.tables.alert_rows import alert_db_id
from citypulse.domain.stages import Stage

Budget = Literal["crowd", "technical"]


def budget_of(n: Notification) -> Budget:
    return "technical" if n.record.rule in TECHNICAL_RULES else "crowd"


def budget_key(budget: Budget, recipient_id: str) -> str:
    """The rate limiter's key: a recipient's crowd and technical budgets are apart."""
    return recipient_id if budget == "crowd" else f"technical:{recipient_id}"


@dataclass(frozen=True)
class Addressed:
    """The notifications one recipient gets in one message, and what became of it."""

    recipient: Recipient
    budget: Budget
    notes: tuple[Notification, ...]
    limited: bool = False  # held back by the rate limit: audited, not texted
    quiet: bool = False  # inside the recipient's quiet hours (below 심각): audited, not texted
    message: RenderedMessage | None = None

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return tuple(n.alert_id for n in self.notes)

    @property
    def severity(self) -> Stage:
        return max(n.record.severity for n in self.notes)


@dataclass
class Group:
    """A FIRE goes now, or waits for its district's grouping window (NotificationBatcher).
    Technical FIREs never wait and never take a district's leading edge."""

    batcher: NotificationBatcher

    def send_now(self, n: Notification, now: datetime) -> bool:
        if n.kind is not TemplateKind.FIRE or budget_of(n) == "technical":
            return True
        return self.batcher.send_now(n.district, n.record.severity, now)


def fan_out(batch: Sequence[Notification], directory: RecipientDirectory) -> list[Addressed]:
    """One entry per recipient and budget: crowd notifications to the tiers (and extra
    groups) subscribed to the area, technical ones to the on-call group of those tiers."""
    chosen: dict[tuple[Budget, str], tuple[Recipient, list[Notification]]] = {}
    for n in batch:
        budget, s = budget_of(n), n.record.subject
        if budget == "technical":
            recipients = directory.on_call(n.tiers)
        else:
            recipients = directory.select(n.tiers, s.district, s.area_code, n.record.extra_groups)
        for r in recipients:
            chosen.setdefault((budget, r.recipient_id), (r, []))[1].append(n)
    return [Addressed(r, b, tuple(notes)) for (b, _), (r, notes) in chosen.items()]


@dataclass(frozen=True)
class QuietHours:
    """Crowd messages below 심각 skip a recipient inside their quiet hours (KST); 심각
    always goes. Technical messages ignore quiet hours: feed and data alerts are all
    below 심각 (주의), so quiet hours would silence the on-call group at night, the one
    time a silent feed leaves the city blind; who is woken is the on-call roster's job.
    Runs before the rate limit: a message not sent uses no budget."""

    def __call__(self, addressed: list[Addressed], now: datetime) -> list[Addressed]:
        return [
            replace(a, quiet=True)
            if a.budget == "crowd"
            and a.severity < Stage.SERIOUS
            and in_quiet_hours(a.recipient, now)
            else a
            for a in addressed
        ]


@dataclass
class RateLimit:
    """Per recipient and budget (alerts.recipients.MessageRateLimiter)."""

    limiter: MessageRateLimiter = field(default_factory=MessageRateLimiter)

    def __call__(self, addressed: list[Addressed], now: datetime) -> list[Addressed]:
        return [
            a
            if a.quiet
            or self.limiter.admit(budget_key(a.budget, a.recipient.recipient_id), a.severity, now)
            else replace(a, limited=True)
            for a in addressed
        ]


@dataclass
class Render:
    """The text in the recipient's language: alone, or one grouped message; with
    `links`, a signed link that acknowledges the (first) alert for this recipient; with
    `guide` (the service reloads it on sync), the first playbook action for the
    recipient's agency on a 경계/심각 crowd text."""

    links: LinkMaker | None = None
    guide: PlaybookGuide | None = None

    def action(self, a: Addressed) -> str | None:
        if self.guide is None or a.budget == "technical":
            return None
        top = max((n.record for n in a.notes), key=lambda r: r.severity)
        s = top.subject
        found = self.guide.sms_action(top.severity, s.key, s.area_code, a.recipient.agency)
        return None if found is None else found.text(a.recipient.language)

    def __call__(self, addressed: list[Addressed], now: datetime) -> list[Addressed]:
        out = []
        for a in addressed:
            if a.limited or a.quiet:
                out.append(a)
                continue
            kind = a.notes[0].kind if len(a.notes) == 1 else TemplateKind.GROUPED
            link = None
            if self.links is not None and a.recipient.recipient_id.isdigit():
                first = alert_db_id(a.notes[0].alert_id)
                link = self.links.url(first, int(a.recipient.recipient_id), now)
            records = [n.record for n in a.notes]
            message = render_message(kind, a.recipient.language, records, link, self.action(a))
            out.append(replace(a, message=message))
        return out


render = Render()  # without links: an operator's "it is over" asks for nothing
