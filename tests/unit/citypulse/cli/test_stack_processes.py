"""What `citypulse up` starts: N stream workers in one group, then the other processes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from citypulse.cli.stack import app_processes
from citypulse.config import StackSettings


@pytest.mark.parametrize(
    ("workers", "names"),
    [
        (1, ["worker", "dispatcher", "api", "simulator", "watchdog"]),
        (3, ["worker", "worker-2", "worker-3", "dispatcher", "api", "simulator", "watchdog"]),
    ],
)
def test_workers_come_first_and_each_has_its_own_id(workers: int, names: list[str]) -> None:
    procs = app_processes(StackSettings(workers=workers))
    assert [p.name for p in procs] == names
    settings = StackSettings()
    workers_argv = {tuple(p.argv(settings)) for p in procs if p.name.startswith("worker")}
    assert len(workers_argv) == 1  # the same program, one consumer group
    ids = [p.env.get("CITYPULSE_WORKER_ID") for p in procs if p.name.startswith("worker")]
    assert ids == [None] + [f"worker-{n}" for n in range(2, workers + 1)]  # the first: default


@pytest.mark.parametrize("workers", [0, 17])
def test_worker_count_is_bounded(workers: int) -> None:
    with pytest.raises(ValidationError):
        StackSettings(workers=workers)


def test_the_simulator_drives_the_areas_and_feeds_the_settings_name() -> None:
    settings = StackSettings(simulate_areas=7, simulate_feeds=" zone_count, environment_reading")
    sim = next(p for p in app_processes(settings) if p.name == "simulator")
    argv = sim.argv(settings)
    assert argv[argv.index("--areas") + 1] == "7"
    assert argv[argv.index("--kinds") + 1] == "zone_count,environment_reading"


@pytest.mark.parametrize("feeds", ["telecom", "zone_count,cctv"])
def test_an_unknown_simulated_feed_is_refused(feeds: str) -> None:
    with pytest.raises(ValidationError, match="CITYPULSE_SIMULATE_FEEDS"):
        StackSettings(simulate_feeds=feeds)
