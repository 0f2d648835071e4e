"""Grouping: several alerts in one district within a window go out as one message.

Generic over what is grouped (the lifecycle's notifications), so it stays free of the
record types. 심각 never waits for a window: it is released at once, alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from citypulse.domain.stages import Stage

T = TypeVar("T")


@dataclass
class _Batch(Generic[T]):
    opened_at: datetime
    items: list[T]


@dataclass
class DistrictGrouper(Generic[T]):
    window_s: float = 120.0
    max_batch: int = 8  # one LMS stays readable; a longer batch flushes early
    immediate_min_severity: Stage = Stage.SERIOUS
    _open: dict[str, _Batch[T]] = field(default_factory=dict, init=False, repr=False)

    def add(self, item: T, district: str, severity: Stage, now: datetime) -> list[list[T]]:
        """Queue an item; return the batches to send now (possibly none)."""
        if severity >= self.immediate_min_severity:
            return [[item]]
        batch = self._open.setdefault(district, _Batch(opened_at=now, items=[]))
        batch.items.append(item)
        if len(batch.items) >= self.max_batch:
            del self._open[district]
            return [batch.items]
        return []

    def due(self, now: datetime) -> list[list[T]]:
        """Batches whose window has passed, oldest first; call it on a timer."""
        ready = [
            (b.opened_at, d)
            for d, b in self._open.items()
            if (now - b.opened_at).total_seconds() >= self.window_s
        ]
        return [self._open.pop(d).items for _, d in sorted(ready)]

    def pending(self) -> int:
        return sum(len(b.items) for b in self._open.values())
