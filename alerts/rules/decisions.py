"""What the engine decides for one AreaState: Fire, Escalate, Deescalate, Resolve, NoChange.

Decisions are values; the outbox turns them into alert records and SMS in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from alerts.rules.config import RuleKind
from citypulse.domain.stages import Stage


@dataclass(frozen=True)
class AreaInfo:
    """Names and district of an area, from the registry (sensors.registry.Hotspot)."""

    code: str
    name_ko: str
    name_en: str
    district: str
    category: str = ""  # Seoul's category (관광특구, 공원, ...): the playbook's area type


# A whole source gone silent (alerts.pipeline.feeds) is the subject "feed.<source>".
FEED_PREFIX = "feed."


@dataclass(frozen=True)
class AlertSubject:
    """What an alert is about: an area, one zone of it, or a whole feed."""

    key: str  # "POI009", "POI009/z1" or "feed.telecom"
    area_code: str
    zone_id: str | None
    district: str
    name_ko: str
    name_en: str

    @property
    def is_feed(self) -> bool:
        return self.key.startswith(FEED_PREFIX)


@dataclass(frozen=True)
class Reading:
    """The numbers behind a decision, at the event time of the state that produced it."""

    as_of: datetime
    density_per_m2: float
    people: float
    normal_people: float | None = None  # above-normal rule: the usual count for the hour
    trend_per_min: float | None = None
    forecast_density_per_m2: float | None = None  # forecast rule: the crossing value
    forecast_horizon_min: int | None = None
    # The change is the forecast rule's warning of 심각 on the one alert of its key (an
    # escalation of the stage's alert, or a word on it at the same stage): its text names
    # the horizon.
    forecast_warning: bool = False


@dataclass(frozen=True)
class Mute:
    """Why a decision must be recorded but not texted."""

    kind: Literal["silence", "inhibition"]
    by: str  # silence id, or dedup key of the inhibiting alert
    reason: str


@dataclass(frozen=True, kw_only=True)
class _Change:
    dedup_key: str
    rule: RuleKind
    subject: AlertSubject
    severity: Stage
    reading: Reading
    reason: str
    decided_at: datetime


@dataclass(frozen=True, kw_only=True)
class Fire(_Change):
    muted: Mute | None = None
    profile: str | None = None
    extra_groups: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Escalate(_Change):
    previous: Stage
    muted: Mute | None = None


@dataclass(frozen=True, kw_only=True)
class Deescalate(_Change):
    previous: Stage
    muted: Mute | None = None


@dataclass(frozen=True, kw_only=True)
class Resolve(_Change):
    """The condition cleared (auto); `severity` is the stage the alert had when it closed.

    `folded_into` names the open alert of the same key that now carries the news (a
    rate-of-rise alert folded into the stage alert): the close is recorded, not texted."""

    auto: bool = True
    folded_into: str | None = None


@dataclass(frozen=True)
class NoChange:
    """The whole state was ignored (out of order, duplicate); rules said nothing."""

    key: str
    reason: str
    decided_at: datetime


AlertDecision = Fire | Escalate | Deescalate | Resolve | NoChange
