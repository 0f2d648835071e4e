"""Real Kafka and PostgreSQL for the integration tests, started by the project's own code.

They run on test ports under var/test so a stack started with `citypulse up` is left
alone. Each test gets its own topic prefix, consumer group and database schema.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from citypulse.config import REPO_ROOT, StackSettings
from citypulse.processes import Daemon
from infra.db import cluster
from infra.kafka import broker
from tests.integration.support import WorkerFactory, isolated_stack, settings_env

TEST_PORTS = {"kafka_port": 29092, "kafka_controller_port": 29093, "db_port": 25432}


@pytest.fixture(scope="session")
def services() -> Iterator[StackSettings]:
    settings = StackSettings(env="test", var_dir=REPO_ROOT / "var" / "test", **TEST_PORTS)
    cluster.start(settings)
    broker.start(settings)
    yield settings
    if not os.environ.get("CITYPULSE_TEST_KEEP_SERVICES"):
        broker.stop(settings)
        cluster.stop(settings)


@pytest.fixture
def isolated(services: StackSettings) -> Iterator[StackSettings]:
    """Settings with a fresh topic prefix and database schema, removed afterwards."""
    with isolated_stack(services) as settings:
        yield settings


@pytest.fixture
def worker_factory(isolated: StackSettings, tmp_path: Path) -> Iterator[WorkerFactory]:
    """Start stream workers for this test's topics and schema; all stopped at the end."""
    started: list[Daemon] = []

    def start(name: str = "worker", **env: str) -> Daemon:
        d = Daemon(f"{isolated.topic_prefix}-{name}", tmp_path / "run", tmp_path / "log")
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        argv = [sys.executable, "-m", "faust", "-A", "streams.app", "worker", "-l", "info"]
        d.start(
            argv,
            marker="streams.app",
            env={**settings_env(isolated), "CITYPULSE_WORKER_ID": name, **env},
            cwd=workdir,
        )
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop(timeout_s=20)


@pytest.fixture
def db(isolated: StackSettings) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(isolated.db_conninfo, autocommit=True) as conn:
        yield conn
