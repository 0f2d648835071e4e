"""When a FIRE goes out: at once, or grouped with its district's next ones. Pure.

Leading edge, then a window: the first alert of a district goes out at once (a control
room must never wait for the first news); alerts of the same district within
`window_s` after it wait in a DistrictGrouper and go out as one grouped message when its
window passes. 심각 never waits. Items are the ids of stored notification rows, so the
wait survives a restart (`restore`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from alerts.rules import DistrictGrouper
from citypulse.domain.stages import Stage


@dataclass
class NotificationBatcher:
    window_s: float = 120.0
    max_batch: int = 8
    _grouper: DistrictGrouper[int] = field(init=False, repr=False)
    _last_immediate: dict[str, datetime] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._grouper = DistrictGrouper(window_s=self.window_s, max_batch=self.max_batch)

    def send_now(self, district: str, severity: Stage, now: datetime) -> bool:
        """True: send this one alone now. False: `add` it to the district's batch."""
        if severity >= self._grouper.immediate_min_severity:
            return True
        last = self._last_immediate.get(district)
        if last is None or (now - last).total_seconds() >= self.window_s:
            self._last_immediate[district] = now
            return True
        return False

    def add(self, item: int, district: str, severity: Stage, now: datetime) -> list[list[int]]:
        return self._grouper.add(item, district, severity, now)

    def due(self, now: datetime) -> list[list[int]]:
        return self._grouper.due(now)

    def restore(self, pending: list[tuple[int, str, Stage, datetime]]) -> list[list[int]]:
        """Re-queue stored notifications that were waiting when the worker stopped;
        returns batches already full."""
        full: list[list[int]] = []
        for item, district, severity, created_at in sorted(pending, key=lambda p: p[3]):
            self._last_immediate.setdefault(district, created_at)
            full += self._grouper.add(item, district, min(severity, Stage.ALERT), created_at)
        return full

    def pending(self) -> int:
        return self._grouper.pending()
