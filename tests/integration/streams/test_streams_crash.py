"""kill -9 of the worker in the middle of a 100,000-event run: nothing lost, nothing twice."""

from __future__ import annotations

import psycopg
import pytest

from citypulse.config import StackSettings
from tests.integration.streams.load import FAST_REJOIN, CrowdRun, committed
from tests.integration.support import WorkerFactory

pytestmark = pytest.mark.integration
EVENTS = 100_000


def test_killed_worker_restarts_without_losing_or_double_counting(
    isolated: StackSettings,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    run = CrowdRun(isolated, EVENTS)
    worker = worker_factory(**FAST_REJOIN)
    producer = run.producer().start()

    run.wait_for_a_fifth(db)
    worker.kill()
    at_kill = committed(db)
    assert at_kill < EVENTS, "the worker finished before it could be killed mid-run"
    assert producer.join() == EVENTS

    worker_factory(**FAST_REJOIN)
    run.wait_for_all(db)
    run.assert_stored_exactly(db)
