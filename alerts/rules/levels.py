"""Hold and hysteresis in event time: the small per-(key, rule) state of the engine.

A `LevelTracker` holds the open level of one dedup key (Stage.NORMAL when no alert is
open) and, per candidate level, since when its raise condition and its clear condition
have held without a break. State is a few timestamps: bounded by the number of stages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from citypulse.domain.stages import Stage


@dataclass(frozen=True)
class LevelConditions:
    """For each candidate level: does its raise condition hold, does its clear condition?"""

    raise_: Mapping[Stage, bool]
    clear: Mapping[Stage, bool]


@dataclass
class LevelTracker:
    levels: Sequence[Stage]  # candidate levels of this rule, increasing
    level: Stage = Stage.NORMAL
    raise_since: dict[Stage, datetime] = field(default_factory=dict)
    clear_since: dict[Stage, datetime] = field(default_factory=dict)

    def reset_timers(self) -> None:
        """A break in continuity (stale feed, gap between samples): holds start over."""
        self.raise_since.clear()
        self.clear_since.clear()

    def pending(self) -> bool:
        return bool(self.raise_since) or bool(self.clear_since)

    def step(
        self, at: datetime, cond: LevelConditions, hold_s: float, clear_hold_s: float
    ) -> tuple[Stage, Stage]:
        """Advance to `at`; return (previous level, new level)."""
        self._track(at, cond)
        previous = self.level
        up = [
            lvl
            for lvl in self.levels
            if lvl > previous
            and lvl in self.raise_since
            and (at - self.raise_since[lvl]).total_seconds() >= hold_s
        ]
        if up:
            self.level = max(up)
        elif previous > Stage.NORMAL and self._cleared(previous, at, clear_hold_s):
            # Drop to the highest level below that has not cleared too (NORMAL: resolve).
            still = [
                lvl
                for lvl in self.levels
                if lvl < previous and not self._cleared(lvl, at, clear_hold_s)
            ]
            self.level = max(still, default=Stage.NORMAL)
        if self.level != previous:
            self._forget_settled()
        return previous, self.level

    def _track(self, at: datetime, cond: LevelConditions) -> None:
        for lvl in self.levels:
            if lvl > self.level and cond.raise_.get(lvl, False):
                self.raise_since.setdefault(lvl, at)
            else:
                self.raise_since.pop(lvl, None)
            if lvl <= self.level and cond.clear.get(lvl, False):
                self.clear_since.setdefault(lvl, at)
            else:
                self.clear_since.pop(lvl, None)

    def _cleared(self, lvl: Stage, at: datetime, clear_hold_s: float) -> bool:
        since = self.clear_since.get(lvl)
        return since is not None and (at - since).total_seconds() >= clear_hold_s

    def _forget_settled(self) -> None:
        # After a change the timers that led to it are spent; those that still apply
        # (clear timers of lower levels after a drop) are kept so a fast fall continues.
        self.raise_since = {k: v for k, v in self.raise_since.items() if k > self.level}
        self.clear_since = {k: v for k, v in self.clear_since.items() if k <= self.level}
