"""Two workers in one consumer group split the partitions and store what one worker stores."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from kafka import KafkaAdminClient

from citypulse.config import StackSettings
from sensors.simulator.bulk_publisher import publish_encoded
from tests.integration.streams.load import FAST_REJOIN, committed, crowd_pairs, progress
from tests.integration.support import (
    WorkerFactory,
    isolated_stack,
    settings_env,
    topic_names,
    wait_for,
)

pytestmark = pytest.mark.integration
EVENTS = 30_000
STATS = """SELECT area_code, zone_id, source, bucket, samples, people_sum, people_min,
    people_max, people_last, last_event_time, walkable_m2 FROM crowd_stats_1m ORDER BY 1, 2, 3, 4"""


@pytest.fixture
def second(isolated: StackSettings) -> Iterator[StackSettings]:
    """A second topic prefix and schema beside `isolated`, for the two-worker run."""
    with isolated_stack(isolated) as settings:
        yield settings


def _members_with_partitions(s: StackSettings) -> int:
    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    try:
        group_id = f"{s.topic_prefix}-ingest"
        group = admin.describe_groups([group_id])[group_id]
        if group["group_state"] != "Stable":
            return 0
        return sum(
            1
            for m in group["members"]
            if any(a["partitions"] for a in m["member_assignment"]["assigned_partitions"])
        )
    finally:
        admin.close()


def _run(s: StackSettings, pairs: list[tuple[bytes | None, bytes]]) -> list[tuple[object, ...]]:
    asyncio.run(publish_encoded(pairs, s.kafka_bootstrap, topic_names(s)["city-events.v1"]))
    with psycopg.connect(s.db_conninfo, autocommit=True) as db:
        wait_for(lambda: committed(db) == EVENTS, 180, "every record", progress(db, EVENTS))
        return db.execute(STATS).fetchall()


def test_two_workers_store_the_same_as_one(
    isolated: StackSettings, second: StackSettings, worker_factory: WorkerFactory
) -> None:
    pairs = crowd_pairs(EVENTS, seed=8)
    worker_factory("single", **FAST_REJOIN)
    one = _run(isolated, pairs)

    env = {**settings_env(second), **FAST_REJOIN}
    worker_factory("pair-a", **env)
    worker_factory("pair-b", **env)
    wait_for(lambda: _members_with_partitions(second) == 2, 60, "both workers to get partitions")
    two = _run(second, pairs)

    assert len(one) == EVENTS  # one row per window here: each device reports once a minute
    assert two == one
