"""SMS as recipients would get them, for bench/alert_quality.py: what AlertService does
around the alert path (alerts/service.py), with dicts in place of the database.

Per change: `apply_decision` on the open record of its dedup key (the service's lock and
row), then each notification goes now (`path.group.send_now`) through the path's own
fan-out, rate limit and render (`path.deliver`, the service's call) and becomes outbox
rows (`alerts.pipeline.outbox.outbox_entries`, the rows `queue_sms` writes), or waits
in the path's district batcher and leaves as one grouped message when its window is
due (`flush`). On each tick, as the service's `tick` timer: reminders and the tier chain
(`alerts.lifecycle.tick`) for open, unacknowledged, unmuted alerts, and unmuting when an
inhibiting alert closed. The one thing a bench must assume is people: an operator
acknowledges every alert `ack_after_s` after it opened (or never, with None).

The directory is a plausible Seoul one (`seoul_directory`): two people in each district's
CCTV control centre (tier 1, subscribed to their district), three in the city's disaster
control room (tier 2), two each at 119 and 112 (tier 3), two on the technical on-call
rota; one of each desk reads English. Numbers are fictitious (010-0000-XXXX).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from alerts.lifecycle import (
    AlertRecord,
    AlertStatus,
    EscalationPolicy,
    InvalidTransition,
    Notification,
    acknowledge,
    apply_decision,
    tick,
    unmute,
)
from alerts.pipeline import AlertPath
from alerts.pipeline.deliver import Addressed
from alerts.pipeline.outbox import outbox_entries
from alerts.recipients import Recipient, RecipientDirectory
from alerts.rules import AlertDecision, Fire, NoChange
from alerts.tables.alert_rows import alert_id_text
from citypulse.domain.korea_time import KST
from citypulse.domain.stages import Stage


def seoul_directory(districts: Iterable[str]) -> RecipientDirectory:
    people: list[Recipient] = []

    def add(name: str, tier: int, **kw: Any) -> None:
        n = len(people) + 1
        people.append(Recipient(str(n), name, f"010-0000-{n:04d}", tier, **kw))

    for d in sorted(set(districts)):
        for i in range(2):
            add(f"{d} CCTV관제센터 {i + 1}", 1, districts=frozenset({d}),
                language="en" if i else "ko", agency="district")  # fmt: skip
    for i in range(3):
        add(f"서울시 재난안전상황실 {i + 1}", 2, language="en" if i == 2 else "ko")
    for i in range(2):
        add(f"119 종합상황실 {i + 1}", 3, agency="fire")
        add(f"112 치안상황실 {i + 1}", 3, agency="police")
    for i in range(2):
        add(f"기술 당직 {i + 1}", 1, role="technical", agency="city")
    return RecipientDirectory(tuple(people))


@dataclass(frozen=True)
class Sent:
    at: datetime
    recipient_id: str
    tier: int
    role: str
    technical: bool  # the technical budget (feed and system alerts)
    template: str


@dataclass
class SmsLedger:
    path: AlertPath
    directory: RecipientDirectory
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    ack_after_s: float | None = 240.0
    sent: list[Sent] = field(default_factory=list)
    limited: int = 0  # messages held back by the rate limit (audited, not texted)
    _open: dict[str, AlertRecord] = field(default_factory=dict)
    _waiting: dict[int, Notification] = field(default_factory=dict)
    _serial: int = 0

    def apply(self, decisions: Sequence[AlertDecision], now: datetime) -> None:
        """AlertService.apply: each change on its record, then its notifications."""
        for d in decisions:
            if isinstance(d, NoChange):
                continue
            record = self._open.get(d.dedup_key)
            new_id = None
            if isinstance(d, Fire):
                if record is not None:
                    continue
                self._serial += 1
                new_id = alert_id_text(self._serial)
            try:
                tr = apply_decision(record, d, now, self.escalation, new_alert_id=new_id)
            except InvalidTransition:
                self.path.release(d.dedup_key)
                continue
            if tr is None:
                continue
            self._store(tr.record)
            self._announce(tr.notifications, now)

    def on_tick(self, now: datetime) -> None:
        """The service's flush and tick timers (and, here, the operators' clicks)."""
        for batch in self.path.group.batcher.due(now):
            self._queue_batch(batch, now)
        for key, record in list(self._open.items()):
            if record.status is not AlertStatus.OPEN:
                continue
            if (
                self.ack_after_s is not None
                and (now - record.opened_at).total_seconds() >= self.ack_after_s
            ):
                self._open[key] = acknowledge(record, "bench operator", now).record
                continue
            if record.muted is None:
                tr = tick(record, now, self.escalation)
            elif record.muted.kind == "inhibition" and not self._serious_open(record):
                tr = unmute(record, now, self.escalation)
            else:
                continue
            if tr.record is not record:
                self._store(tr.record)
                self._announce(tr.notifications, now)

    # -- the service's internals, without the database ------------------------------------

    def _store(self, record: AlertRecord) -> None:
        if record.is_open:
            self._open[record.dedup_key] = record
        else:
            self._open.pop(record.dedup_key, None)

    def _serious_open(self, record: AlertRecord) -> bool:
        return any(
            r.subject.area_code == record.subject.area_code
            and r.alert_id != record.alert_id
            and r.severity >= Stage.SERIOUS
            for r in self._open.values()
        )

    def _announce(self, notes: Sequence[Notification], now: datetime) -> None:
        for n in notes:
            if self.path.group.send_now(n, now):
                self._queue(self.path.deliver([n], self.directory, now), now)
                continue
            self._serial += 1
            self._waiting[self._serial] = n
            for batch in self.path.group.batcher.add(
                self._serial, n.district, n.record.severity, now
            ):
                self._queue_batch(batch, now)

    def _queue_batch(self, batch: list[int], now: datetime) -> None:
        # A FIRE whose alert closed while it waited is dropped: its resolution went out.
        notes = []
        for item in batch:
            n = self._waiting.pop(item)
            rec = self._open.get(n.record.dedup_key)
            if rec is not None and rec.alert_id == n.alert_id:
                notes.append(Notification(n.alert_id, n.kind, n.tiers, rec))
        if notes:
            self._queue(self.path.deliver(notes, self.directory, now), now)

    def _queue(self, addressed: Sequence[Addressed], now: datetime) -> None:
        rows, _audit = outbox_entries(addressed, now)  # the rows queue_sms writes
        by_id = {r.recipient_id: r for r in self.directory.recipients}
        for row in rows:
            r = by_id[str(row.recipient_id)]
            self.sent.append(Sent(now, r.recipient_id, r.tier, r.role, row.technical, row.template))
        self.limited += sum(1 for a in addressed if a.limited)


def sms_figures(
    ledgers: Iterable[SmsLedger], directory: RecipientDirectory, days: Sequence[date]
) -> dict[str, Any]:
    """SMS per recipient per day over `days` (every recipient counts, texted or not):
    crowd messages by tier, the technical on-call apart; mean, p95 and max."""
    sent = [s for ledger in ledgers for s in ledger.sent]
    limited = sum(ledger.limited for ledger in ledgers)
    per: Counter[tuple[str, date]] = Counter(
        (s.recipient_id, s.at.astimezone(KST).date()) for s in sent
    )
    groups: dict[str, list[Recipient]] = defaultdict(list)
    for r in directory.recipients:
        groups["technical" if r.role == "technical" else f"tier_{r.tier}"].append(r)
    out: dict[str, Any] = {
        "recipients": len(directory.recipients),
        "days": len(days),
        "messages": len(sent),
        "crowd_messages": sum(1 for s in sent if not s.technical),
        "rate_limited": limited,
        "templates": dict(Counter(s.template for s in sent)),
    }
    for name in sorted(groups):
        counts = sorted(per[(r.recipient_id, d)] for r in groups[name] for d in days)
        out[name] = {
            "recipients": len(groups[name]),
            "per_day_mean": round(sum(counts) / len(counts), 2) if counts else None,
            "per_day_p95": counts[min(len(counts) - 1, int(0.95 * len(counts)))]
            if counts
            else None,
            "per_day_max": counts[-1] if counts else None,
        }
    return out


__all__ = ["SmsLedger", "seoul_directory", "sms_figures"]
