"""PostgreSQL, then the broker, restarted in the middle of a 100,000-event run: every window exact.

Each test restarts a private server of its own (free ports, a temporary var dir) so the
shared test services are never disturbed. The worker is the one started before the
restart: it must ride through the outage, not be restarted.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from citypulse.config import StackSettings
from infra.db import cluster
from infra.db.migrate import migrate
from infra.kafka import broker
from tests.integration.streams.load import FAST_REJOIN, CrowdRun, committed
from tests.integration.support import WorkerFactory

pytestmark = pytest.mark.integration
EVENTS = 100_000  # the same run as the kill -9 test
OUTAGE_S = 3.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def scratch_var() -> Iterator[Path]:
    # Not pytest's tmp_path: the postgres system user must be able to reach it.
    path = Path(tempfile.mkdtemp(prefix="citypulse-restart-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_db(isolated: StackSettings, scratch_var: Path) -> Iterator[StackSettings]:
    """The test's topics on the shared broker, its schema on a PostgreSQL of its own."""
    settings = isolated.model_copy(update={"var_dir": scratch_var, "db_port": _free_port()})
    cluster.start(settings)
    migrate(settings.db_conninfo, settings.db_schema)
    yield settings
    cluster.stop(settings)


@pytest.fixture
def private_broker(isolated: StackSettings, scratch_var: Path) -> Iterator[StackSettings]:
    """The test's schema in the shared database, its topics on a broker of its own."""
    lib = broker.lib_dir(isolated)
    settings = isolated.model_copy(
        update={
            "var_dir": scratch_var,
            "kafka_port": _free_port(),
            "kafka_controller_port": _free_port(),
            "kafka_heap_mb": 512,
        }
    )
    broker.lib_dir(settings).parent.mkdir(parents=True)
    broker.lib_dir(settings).symlink_to(lib)  # the cached jars: no download
    broker.start(settings)
    broker.ensure_topics(settings)
    yield settings
    broker.stop(settings)


def _worker_env(s: StackSettings) -> dict[str, str]:
    return {
        **FAST_REJOIN,
        "CITYPULSE_DB_PORT": str(s.db_port),
        "CITYPULSE_KAFKA_PORT": str(s.kafka_port),
        "CITYPULSE_KAFKA_CONTROLLER_PORT": str(s.kafka_controller_port),
    }


def test_worker_rides_through_a_postgresql_restart(
    private_db: StackSettings, worker_factory: WorkerFactory
) -> None:
    s = private_db
    run = CrowdRun(s, EVENTS, seed=5)
    worker = worker_factory(**_worker_env(s))
    with psycopg.connect(s.db_conninfo, autocommit=True) as db:
        run.producer().start()
        run.wait_for_a_fifth(db)
    cluster.stop(s)
    time.sleep(OUTAGE_S)
    cluster.start(s)
    with psycopg.connect(s.db_conninfo, autocommit=True) as db:
        run.wait_for_all(db)
        assert worker.is_running(), worker.log_tail()
        run.assert_stored_exactly(db)


def test_worker_rides_through_a_broker_restart(
    private_broker: StackSettings,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    s = private_broker
    run = CrowdRun(s, EVENTS, seed=6)
    worker = worker_factory(**_worker_env(s))
    assert run.producer().start().join() == EVENTS  # all in the log before the broker goes away
    run.wait_for_a_fifth(db)
    at_stop = committed(db)
    broker.stop(s)
    time.sleep(OUTAGE_S)
    broker.start(s)
    assert at_stop < EVENTS, "the worker finished before the broker went away"
    run.wait_for_all(db)
    assert worker.is_running(), worker.log_tail()
    run.assert_stored_exactly(db)
