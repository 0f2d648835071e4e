"""A drill's simulated clock: the simulator's time at `speed` x, from the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citypulse.config import StackSettings
from citypulse.sim_clock import SimulatedClock, wall_clock

START = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


@given(st.floats(0.1, 600), st.floats(0, 86_400))
def test_simulated_time_runs_speed_times_faster(speed: float, elapsed: float) -> None:
    clock = SimulatedClock(START, 1_000.0, speed, wall=lambda: 1_000.0 + elapsed)
    got = clock()
    assert abs((got - START).total_seconds() - speed * elapsed) < 1e-3 * max(1, speed * elapsed)
    assert abs(clock.wall_at(got) - (1_000.0 + elapsed)) < 1e-3


def test_before_its_start_the_clock_reads_earlier() -> None:
    clock = SimulatedClock(START, 1_000.0, 60, wall=lambda: 990.0)
    assert clock() == START - timedelta(minutes=10)


def test_the_stack_settings_give_the_wall_clock_unless_a_drill_sets_one() -> None:
    assert StackSettings().clock() is wall_clock
    s = StackSettings(clock_sim_start=START, clock_wall_start=0.0, clock_speed=60)
    clock = s.clock()
    assert isinstance(clock, SimulatedClock) and clock.speed == 60 and clock.sim_start == START


def test_half_a_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="go together"):
        StackSettings(clock_sim_start=START)
    with pytest.raises(ValueError, match="offset"):
        StackSettings(clock_sim_start=datetime(2026, 6, 10), clock_wall_start=0.0)
    with pytest.raises(ValueError):
        StackSettings(clock_speed=0)
