"""What `citypulse up` starts: N stream workers in one group, then the other processes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from citypulse.cli.stack import (
    app_processes,
    kafka_program,
    kannel_program,
    postgres_program,
    programs,
)
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


def test_infrastructure_starts_first_stops_last_and_gracefully() -> None:
    settings = StackSettings()
    pg = postgres_program(settings, ["postgres", "-D", "data"])
    kafka = kafka_program(["java", "kafka.Kafka", "server.properties"])
    names = ["carrier-standin", "bearerbox", "smsbox"]
    kannel = [kannel_program(n, [n], 4 + i) for i, n in enumerate(names)]
    infra = [pg, kafka, *kannel]
    apps = programs(settings, app_processes(settings))
    # supervisord stops the highest priority first: every app before any infrastructure.
    assert max(p.priority for p in infra) < min(p.priority for p in apps)
    assert [p.priority for p in infra] == sorted(p.priority for p in infra)
    assert pg.stopsignal == "INT" and not pg.stopasgroup  # PostgreSQL's fast shutdown
    assert kafka.stopsignal == "TERM"  # Kafka's controlled shutdown
    # Time for a checkpoint / a controlled shutdown before SIGKILL; more than an app gets.
    assert min(pg.stopwaitsecs, kafka.stopwaitsecs) > max(p.stopwaitsecs for p in apps)
    assert all(p.startretries > 0 for p in infra)


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
