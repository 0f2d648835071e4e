"""Pure lifecycle transitions: (record, now) in, (new record, audit, notifications) out.

    open ──acknowledge──▶ acknowledged
     │  ▲                    │
     │  └──escalate (reopen)─┘
     ├──resolve(who, why)──▶ resolved        (from open or acknowledged)
     └──Resolve decision───▶ auto_resolved   (from open or acknowledged)

While open and unacknowledged, `tick` reminds the notified tiers every reminder_s and
climbs one tier every tier_timeout_s, up to the severity's ceiling.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from alerts.lifecycle.policy import EscalationPolicy, tiers_up_to
from alerts.lifecycle.record import (
    SYSTEM,
    AlertRecord,
    AlertStatus,
    AuditEntry,
    InvalidTransition,
    Notification,
    TemplateKind,
    Tier,
    Transition,
)
from alerts.rules import AlertDecision, Deescalate, Escalate, Fire, NoChange, Resolve

DEFAULT_POLICY = EscalationPolicy()


def open_alert(
    fire: Fire, alert_id: str, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY
) -> Transition:
    tier = 0 if fire.muted else policy.first_tier(fire.severity)
    record = AlertRecord(
        alert_id=alert_id,
        dedup_key=fire.dedup_key,
        rule=fire.rule,
        subject=fire.subject,
        status=AlertStatus.OPEN,
        severity=fire.severity,
        peak_severity=fire.severity,
        reading=fire.reading,
        opened_at=now,
        updated_at=now,
        muted=fire.muted,
        tier=tier,
        tier_since=now if tier else None,
        last_notified_at=now if tier else None,
        profile=fire.profile,
        extra_groups=fire.extra_groups,
    )
    detail = f"{fire.rule.value} {fire.severity.label_ko}: {fire.reason}"
    if fire.muted:
        detail += f" (muted by {fire.muted.kind} {fire.muted.by})"
    return Transition(
        record,
        (
            AuditEntry(
                alert_id, now, SYSTEM, "opened", detail, fire.muted.reason if fire.muted else None
            ),
        ),
        _notify(record, TemplateKind.FIRE, tiers_up_to(tier)),
    )


def apply_decision(
    record: AlertRecord | None,
    decision: AlertDecision,
    now: datetime,
    policy: EscalationPolicy = DEFAULT_POLICY,
    new_alert_id: str | None = None,
) -> Transition | None:
    """Route an engine decision: Fire opens (needs new_alert_id), the rest change `record`."""
    if isinstance(decision, NoChange):
        return None
    if isinstance(decision, Fire):
        if record is not None and record.is_open:
            raise InvalidTransition(f"{decision.dedup_key} already open as {record.alert_id}")
        if new_alert_id is None:
            raise ValueError("a Fire decision needs new_alert_id")
        return open_alert(decision, new_alert_id, now, policy)
    if record is None or not record.is_open:
        raise InvalidTransition(f"no open alert for {decision.dedup_key}")
    if isinstance(decision, Resolve):
        return _close(record, AlertStatus.AUTO_RESOLVED, SYSTEM, decision.reason, now, decision)
    return change_severity(record, decision, now, policy)


def change_severity(
    record: AlertRecord,
    decision: Escalate | Deescalate,
    now: datetime,
    policy: EscalationPolicy = DEFAULT_POLICY,
) -> Transition:
    _require_open(record, "change severity of")
    up = isinstance(decision, Escalate)
    rec = replace(
        record,
        severity=decision.severity,
        peak_severity=max(record.peak_severity, decision.severity),
        reading=decision.reading,
        updated_at=now,
        muted=decision.muted,
    )
    action = "escalated" if up else "deescalated"
    audit = [
        AuditEntry(
            rec.alert_id, now, SYSTEM, action,
            f"{decision.previous.label_ko} -> {decision.severity.label_ko}: {decision.reason}",
        )
    ]  # fmt: skip
    if decision.muted:
        audit[0] = replace(audit[0], why=decision.muted.reason)
        return Transition(rec, tuple(audit))
    if up:
        # A higher stage is new news: it reopens an acknowledged alert and reaches the
        # stage's first tier at once (심각: everyone).
        tier = max(rec.tier, policy.first_tier(decision.severity))
        if rec.status is AlertStatus.ACKNOWLEDGED:
            audit.append(AuditEntry(rec.alert_id, now, SYSTEM, "reopened", "stage rose"))
        rec = replace(
            rec,
            status=AlertStatus.OPEN,
            acknowledged_by=None,
            acknowledged_at=None,
            tier=tier,
            tier_since=now,
            last_notified_at=now,
            reminders_sent=0,
        )
        return Transition(rec, tuple(audit), _notify(rec, TemplateKind.ESCALATE, tiers_up_to(tier)))
    if rec.tier:
        rec = replace(rec, last_notified_at=now)
    return Transition(
        rec, tuple(audit), _notify(rec, TemplateKind.DEESCALATE, tiers_up_to(rec.tier))
    )


def acknowledge(
    record: AlertRecord, who: str, now: datetime, note: str | None = None
) -> Transition:
    _require_who(who)
    if record.status is AlertStatus.ACKNOWLEDGED:
        return Transition(record)  # a second click changes nothing
    _require_open(record, "acknowledge")
    rec = replace(
        record,
        status=AlertStatus.ACKNOWLEDGED,
        acknowledged_by=who,
        acknowledged_at=now,
        updated_at=now,
    )
    return Transition(rec, (AuditEntry(rec.alert_id, now, who, "acknowledged", "", note),))


def resolve(record: AlertRecord, who: str, why: str, now: datetime) -> Transition:
    """Resolve by hand; the engine should `release` the dedup key so it can fire again."""
    _require_who(who)
    if not why.strip():
        raise ValueError("resolving by hand needs a reason")
    _require_open(record, "resolve")
    return _close(record, AlertStatus.RESOLVED, who, why, now, None)


def comment(record: AlertRecord, who: str, text: str, now: datetime) -> Transition:
    _require_who(who)
    if not text.strip():
        raise ValueError("empty comment")
    rec = replace(record, updated_at=now)
    return Transition(rec, (AuditEntry(rec.alert_id, now, who, "commented", text),))


def unmute(
    record: AlertRecord, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY
) -> Transition:
    """A silence ended or the inhibiting alert closed: text the alert as if it just fired."""
    if record.muted is None or not record.is_open:
        return Transition(record)
    tier = max(record.tier, policy.first_tier(record.severity))
    rec = replace(
        record, muted=None, tier=tier, tier_since=now, last_notified_at=now, updated_at=now
    )
    audit = AuditEntry(
        rec.alert_id, now, SYSTEM, "unmuted", f"was {record.muted.kind} {record.muted.by}"
    )
    return Transition(rec, (audit,), _notify(rec, TemplateKind.FIRE, tiers_up_to(tier)))


def tick(
    record: AlertRecord, now: datetime, policy: EscalationPolicy = DEFAULT_POLICY
) -> Transition:
    """Reminders and the tier chain for an unacknowledged alert; call it on a timer."""
    if record.status is not AlertStatus.OPEN or record.muted or not record.tier:
        return Transition(record)
    waited = (now - (record.tier_since or record.opened_at)).total_seconds()
    if record.tier < policy.ceiling(record.severity) and waited >= policy.tier_timeout_s:
        tier = record.tier + 1
        rec = replace(record, tier=tier, tier_since=now, last_notified_at=now, updated_at=now)
        audit = AuditEntry(
            rec.alert_id, now, SYSTEM, "tier_escalated",
            f"tier {tier} {Tier(tier).label_ko}", f"unacknowledged for {waited:.0f} s",
        )  # fmt: skip
        return Transition(rec, (audit,), _notify(rec, TemplateKind.FIRE, frozenset({tier})))
    since_last = (now - (record.last_notified_at or record.opened_at)).total_seconds()
    if record.reminders_sent < policy.max_reminders and since_last >= policy.reminder_s:
        n = record.reminders_sent + 1
        rec = replace(record, reminders_sent=n, last_notified_at=now, updated_at=now)
        audit = AuditEntry(rec.alert_id, now, SYSTEM, "reminded", f"reminder {n}")
        return Transition(rec, (audit,), _notify(rec, TemplateKind.REMINDER, tiers_up_to(rec.tier)))
    return Transition(record)


def _close(
    record: AlertRecord,
    status: AlertStatus,
    who: str,
    why: str,
    now: datetime,
    decision: Resolve | None,
) -> Transition:
    rec = replace(
        record,
        status=status,
        resolved_by=who,
        resolved_at=now,
        resolution=why,
        updated_at=now,
        reading=decision.reading if decision else record.reading,
    )
    audit = AuditEntry(rec.alert_id, now, who, status.value, f"was {record.severity.label_ko}", why)
    # Everyone who heard of it hears that it is over; a muted alert stays quiet, and so
    # does one folded into another open alert of its key (that one carries the news).
    folded = decision is not None and decision.folded_into is not None
    tiers = frozenset() if record.muted or folded else tiers_up_to(rec.tier)
    return Transition(rec, (audit,), _notify(rec, TemplateKind.RESOLVED, tiers))


def _notify(
    record: AlertRecord, kind: TemplateKind, tiers: frozenset[int]
) -> tuple[Notification, ...]:
    if not tiers:
        return ()
    return (Notification(record.alert_id, kind, tiers, record),)


def _require_open(record: AlertRecord, verb: str) -> None:
    if not record.is_open:
        raise InvalidTransition(f"cannot {verb} alert {record.alert_id}: {record.status.value}")


def _require_who(who: str) -> None:
    if not who.strip():
        raise ValueError("who must name a person or system")
