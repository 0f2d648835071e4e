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
