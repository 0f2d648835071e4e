"""Escalation policy: which tier first, when to climb, how often to remind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alerts.lifecycle.record import Tier
from citypulse.domain.stages import Stage


def _initial() -> dict[Stage, int]:
    # 주의 and 경계 start at the district CCTV centre; 심각 brings city, fire and
    # police in at once (Seoul's practice).
    return {Stage.ATTENTION: 1, Stage.CAUTION: 1, Stage.ALERT: 1, Stage.SERIOUS: 3}


def _ceiling() -> dict[Stage, int]:
    # An unacknowledged 주의 climbs to the city room but never calls 119/112 by itself.
    return {Stage.ATTENTION: 1, Stage.CAUTION: 2, Stage.ALERT: 3, Stage.SERIOUS: 3}


@dataclass(frozen=True)
class EscalationPolicy:
    reminder_s: float = 300.0  # remind notified tiers while unacknowledged
    tier_timeout_s: float = 600.0  # unacknowledged this long: text the next tier
    max_reminders: int = 12  # an hour of reminders, then the chain has done its work
    initial_tier: Mapping[Stage, int] = field(default_factory=_initial)
    max_tier: Mapping[Stage, int] = field(default_factory=_ceiling)

    def first_tier(self, severity: Stage) -> int:
        return self.initial_tier.get(severity, Tier.DISTRICT)

    def ceiling(self, severity: Stage) -> int:
        return max(self.max_tier.get(severity, Tier.EMERGENCY), self.first_tier(severity))


def tiers_up_to(tier: int) -> frozenset[int]:
    return frozenset(range(1, tier + 1))
