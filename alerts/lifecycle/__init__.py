"""Alert lifecycle: open, acknowledged, resolved, auto_resolved; reminders and the tier
chain; an audit entry for every change. Pure functions of (record, now)."""

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
from alerts.lifecycle.transitions import (
    acknowledge,
    apply_decision,
    change_severity,
    comment,
    open_alert,
    resolve,
    tick,
    unmute,
)

__all__ = [
    "SYSTEM",
    "AlertRecord",
    "AlertStatus",
    "AuditEntry",
    "EscalationPolicy",
    "InvalidTransition",
    "Notification",
    "TemplateKind",
    "Tier",
    "Transition",
    "acknowledge",
    "apply_decision",
    "change_severity",
    "comment",
    "open_alert",
    "resolve",
    "tick",
    "tiers_up_to",
    "unmute",
]
