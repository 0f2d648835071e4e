"""kill -9 of the worker in the middle of a 100,000-event run: nothing lost, nothing twice."""

from __future__ import annotations

import psycopg
import pytest

from citypulse.config import StackSettings
from tests.integration.streams.load import (
    FAST_REJOIN,
    BackgroundProducer,
    committed,
    crowd_pairs,
    expected_windows,
    progress,
    reading_rows,
    stored_windows,
)
from tests.integration.support import WorkerFactory, topic_names, wait_for

pytestmark = pytest.mark.integration
EVENTS = 100_000


def test_killed_worker_restarts_without_losing_or_double_counting(
    isolated: StackSettings,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    pairs = crowd_pairs(EVENTS)
    expected = expected_windows(pairs)
    worker = worker_factory(**FAST_REJOIN)
    producer = BackgroundProducer(
        pairs, isolated.kafka_bootstrap, topic_names(isolated)["city-events.v1"]
    ).start()

    wait_for(lambda: committed(db) >= EVENTS // 5, 120, "a fifth of the run", progress(db, EVENTS))
    worker.kill()
    at_kill = committed(db)
    assert at_kill < EVENTS, "the worker finished before it could be killed mid-run"
    assert producer.join() == EVENTS

    worker_factory(**FAST_REJOIN)
    wait_for(lambda: committed(db) == EVENTS, 180, "every record", progress(db, EVENTS))

    assert stored_windows(db) == expected
    assert reading_rows(db) == EVENTS
