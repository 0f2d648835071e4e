"""The clock a process reads: the wall clock, or a drill's simulated clock.

A drill (`citypulse drill start`) runs a scenario at `speed` times real time. Its worker
and alert engine read the simulator's clock instead of the wall clock, so every window,
lateness and future limit, hold and reminder runs as it would live, only faster:
simulated now = `sim_start` + `speed` x (wall now - `wall_start`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SimulatedClock:
    """`sim_start` at wall instant `wall_start` (epoch seconds), then `speed` x as fast."""

    sim_start: datetime
    wall_start: float
    speed: float
    wall: Callable[[], float] = field(default=time.time, compare=False)

    def __post_init__(self) -> None:
        if self.sim_start.tzinfo is None:
            raise ValueError("sim_start must be timezone-aware")
        if not self.speed > 0:
            raise ValueError("speed must be positive")

    def __call__(self) -> datetime:
        elapsed = self.wall() - self.wall_start
        return (self.sim_start + timedelta(seconds=self.speed * elapsed)).astimezone(UTC)

    def wall_at(self, sim: datetime) -> float:
        """The wall instant (epoch seconds) at which this clock reads `sim`."""
        return self.wall_start + (sim - self.sim_start).total_seconds() / self.speed
