"""The deciding half of the alert path: an AreaState (or a sweep) in, alert changes out.

Each stage is a small unit with the same shape, `(changes, now) -> changes`, so the path
reads as a list (alerts/pipeline/__init__.py). Pure apart from the engine they share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from alerts.rules import AlertEngine, Deescalate, Escalate, Fire, NoChange, Resolve, RuleKind
from citypulse.domain.area_state import AreaState

Change = Fire | Escalate | Deescalate | Resolve


class DecisionStage(Protocol):
    def __call__(self, changes: list[Change], now: datetime) -> list[Change]: ...


@dataclass
class Evaluate:
    """The rules: thresholds with holds and hysteresis, rise, forecast, data gap."""

    engine: AlertEngine

    def state(self, state: AreaState, now: datetime) -> list[Change]:
        return [d for d in self.engine.decide(state, now) if not isinstance(d, NoChange)]

    def sweep(self, now: datetime) -> list[Change]:
        """Data gaps of keys that sent nothing at all for a while."""
        return [d for d in self.engine.find_gaps(now) if not isinstance(d, NoChange)]


@dataclass
class StartupGrace:
    """While first states arrive after a start, a key without one yet is not a gap.

    A data-gap FIRE in the first `grace_s` is dropped and its key released in the engine,
    which decides again once the grace is over (the next stale state, or the next sweep).
    Alerts already open when the worker stopped keep their updates.
    """

    grace_s: float
    release: Callable[[str], None]
    started_at: datetime | None = None

    def start(self, now: datetime) -> None:
        self.started_at = now

    def __call__(self, changes: list[Change], now: datetime) -> list[Change]:
        if self.started_at is None or now - self.started_at >= timedelta(seconds=self.grace_s):
            return changes
        kept = []
        for d in changes:
            # Only silence is expected while first states arrive; a broken input is not.
            if isinstance(d, Fire) and d.rule is RuleKind.DATA_GAP:
                self.release(d.dedup_key)
            else:
                kept.append(d)
        return kept


@dataclass
class SilenceInhibit:
    """Silences and inhibition: recorded, not texted (alerts/rules/silences.py)."""

    engine: AlertEngine

    def __call__(self, changes: list[Change], now: datetime) -> list[Change]:
        return [d for d in self.engine.mute(changes, now) if not isinstance(d, NoChange)]


def run_stages(
    stages: Sequence[DecisionStage], changes: list[Change], now: datetime
) -> list[Change]:
    for stage in stages:
        changes = stage(changes, now)
    return changes
