"""Fan-out in one call: notifications -> one SMS per recipient (and budget), in the
recipient's language, through the path's fan-out, rate-limit and render stages. Pure.

Several notifications in one batch (a district's grouping window) become one grouped
message per recipient, holding only the alerts that recipient is subscribed to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.lifecycle import Notification
from alerts.messages import RenderedMessage
from alerts.pipeline.deliver import Addressed, QuietHours, RateLimit, fan_out, render
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
    quiet_hours: tuple[tuple[Recipient, tuple[str, ...]], ...] = ()  # recorded, not texted

    @classmethod
    def of(cls, addressed: Sequence[Addressed]) -> Fanout:
        return cls(
            tuple(PlannedSms(a.recipient, a.message, a.alert_ids) for a in addressed if a.message),
            tuple((a.recipient, a.alert_ids) for a in addressed if a.limited),
            tuple((a.recipient, a.alert_ids) for a in addressed if a.quiet),
        )


def plan_sms(
    batch: Sequence[Notification],
    directory: RecipientDirectory,
    limiter: MessageRateLimiter,
    now: datetime,
) -> Fanout:
    quiet = QuietHours()(fan_out(batch, directory), now)
    return Fanout.of(render(RateLimit(limiter)(quiet, now), now))
