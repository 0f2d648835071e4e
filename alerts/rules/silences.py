"""Silences for planned events: mute notifications for matching alerts for a time.

Matched against the wall clock `now` (a silence is about who gets texted now), whereas
holds and profiles use event time. By default a silence mutes up to 경계: a 심각 breaks
through unless the silence says otherwise, because a planned event can still go wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from alerts.rules.config import RuleKind
from citypulse.domain.stages import Stage


@dataclass(frozen=True)
class Silence:
    silence_id: str
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    area_codes: frozenset[str] = frozenset()  # empty: any area (then districts must match)
    districts: frozenset[str] = frozenset()
    rules: frozenset[RuleKind] = frozenset()  # empty: every rule
    max_severity: Stage = Stage.ALERT

    def __post_init__(self) -> None:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"silence {self.silence_id} ends before it starts")
        if not self.area_codes and not self.districts:
            # Like Alertmanager's rule that a silence needs a matcher: never mute a city.
            raise ValueError(f"silence {self.silence_id} must name areas or districts")
        if not self.created_by.strip() or not self.reason.strip():
            raise ValueError(f"silence {self.silence_id} needs who and why")

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(
        self, area_code: str, district: str, rule: RuleKind, severity: Stage, now: datetime
    ) -> bool:
        if not self.active(now) or severity > self.max_severity:
            return False
        if self.area_codes and area_code not in self.area_codes:
            return False
        if self.districts and district not in self.districts:
            return False
        return not self.rules or rule in self.rules


def matching_silence(
    silences: Iterable[Silence],
    area_code: str,
    district: str,
    rule: RuleKind,
    severity: Stage,
    now: datetime,
) -> Silence | None:
    for silence in silences:
        if silence.matches(area_code, district, rule, severity, now):
            return silence
    return None
