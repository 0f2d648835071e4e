"""The alert record, its audit entries and the notifications a change asks for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from alerts.rules import AlertSubject, Mute, Reading, RuleKind
from citypulse.domain.stages import Stage

SYSTEM = "citypulse"  # the `who` of automatic changes


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    AUTO_RESOLVED = "auto_resolved"

    @property
    def is_open(self) -> bool:
        return self in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class Tier(IntEnum):
    """Escalation chain; notifying tier N means tiers 1..N."""

    DISTRICT = 1  # 구청 CCTV관제센터
    CITY = 2  # 서울시 재난안전상황실
    EMERGENCY = 3  # 119 종합상황실 and 112 치안상황실

    @property
    def label_ko(self) -> str:
        return _TIER_KO[self]


_TIER_KO = {
    Tier.DISTRICT: "구청 CCTV관제센터",
    Tier.CITY: "서울시 재난안전상황실",
    Tier.EMERGENCY: "119·112 상황실",
}


class TemplateKind(StrEnum):
    FIRE = "fire"
    ESCALATE = "escalate"
    DEESCALATE = "deescalate"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    GROUPED = "grouped"


@dataclass(frozen=True, kw_only=True)
class AlertRecord:
    alert_id: str
    dedup_key: str
    rule: RuleKind
    subject: AlertSubject
    status: AlertStatus
    severity: Stage
    peak_severity: Stage
    reading: Reading  # latest numbers
    opened_at: datetime
    updated_at: datetime
    muted: Mute | None = None
    tier: int = 0  # highest tier notified so far; 0 while nobody was texted (muted)
    tier_since: datetime | None = None
    last_notified_at: datetime | None = None
    reminders_sent: int = 0
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    profile: str | None = None
    extra_groups: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which alert, when and why; one per change, append-only."""

    alert_id: str
    at: datetime
    who: str
    action: str  # opened, acknowledged, resolved, auto_resolved, commented, escalated, ...
    detail: str
    why: str | None = None


@dataclass(frozen=True)
class Notification:
    """Text these tiers (and extra groups) about this alert, with this template."""

    alert_id: str
    kind: TemplateKind
    tiers: frozenset[int]
    record: AlertRecord  # snapshot after the change, for the message text

    @property
    def district(self) -> str:
        return self.record.subject.district


@dataclass(frozen=True)
class Transition:
    record: AlertRecord
    audit: tuple[AuditEntry, ...] = ()
    notifications: tuple[Notification, ...] = ()


class InvalidTransition(ValueError):
    """The change does not apply to the alert in its current status."""
