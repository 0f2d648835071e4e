"""No record can stop the worker (issue 13, must show 2).

A real worker process reads a batch holding a record that passes validation but that the
database refuses (a CHECK constraint the operator added, here on event ids starting
`poison`), and a record just under the broker's 1 MiB limit, far over what the decoder
reads. The poison record is dead-lettered as `store_failed` with PostgreSQL's error, the
oversized one with its body cut to 64 KiB and a header saying so; the rest of the batch
is stored exactly once, the offsets cover every record, and the worker goes on consuming.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from kafka import KafkaProducer

from citypulse.config import StackSettings
from sensors.events import MAX_EVENT_BYTES
from tests.hostile_events import valid_event
from tests.integration.streams.load import committed
from tests.integration.support import WorkerFactory, read_topic, topic_names, wait_for

pytestmark = pytest.mark.integration
Conn = psycopg.Connection[tuple[object, ...]]


def _send(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_request_size=2 * 1024 * 1024, linger_ms=20
    )
    try:
        for value in values:
            producer.send(topic, key=b"POI009", value=value, partition=0)
        producer.flush(30)
    finally:
        producer.close()


def _zone(eid: str, at: datetime) -> bytes:
    return json.dumps(valid_event("zone_count", eid, at)).encode()


def _ids(db: Conn) -> list[str]:
    return sorted(str(r[0]) for r in db.execute("SELECT event_id FROM crowd_readings").fetchall())


def test_a_record_the_database_refuses_is_dead_lettered_and_the_worker_goes_on(
    isolated: StackSettings, worker_factory: WorkerFactory, db: Conn
) -> None:
    db.execute(
        "ALTER TABLE crowd_readings ADD CONSTRAINT operator_refuses_poison"
        " CHECK (event_id NOT LIKE 'poison%')"
    )
    topics = topic_names(isolated)
    events, dead_topic = topics["city-events.v1"], topics["dead-letter.v1"]
    now = datetime.now(UTC)
    first = [_zone(f"a{i}", now - timedelta(seconds=60 - i)) for i in range(30)]
    first.insert(12, _zone("poison-1", now - timedelta(seconds=45)))
    huge = valid_event("zone_count", "huge", now)
    huge["zone_id"] = "x" * (1024 * 1024 - 1000)  # under the broker's limit with its framing
    oversized = json.dumps(huge).encode()
    first.insert(20, oversized)
    # One fetch: all of it is in the topic before the worker starts.
    _send(isolated.kafka_bootstrap, events, first)

    worker = worker_factory()
    wait_for(lambda: committed(db) == len(first), 90, "the first batch", worker.log_tail)
    assert _ids(db) == sorted(f"a{i}" for i in range(30))  # each once, the poison not
    samples = db.execute("SELECT sum(samples) FROM crowd_stats_1m").fetchone()
    assert samples == (30,)
    counts = dict(db.execute("SELECT reason, count FROM dead_letter_counts").fetchall())
    assert counts == {"store_failed": 1, "oversized": 1}

    dead = read_topic(isolated.kafka_bootstrap, dead_topic, lambda ms: len(ms) >= 2, 60)
    by_reason = {dict(m.headers)["reason"]: m for m in dead}  # type: ignore[attr-defined]
    assert set(by_reason) == {b"store_failed", b"oversized"}
    poison = by_reason[b"store_failed"]
    assert poison.value == first[12]  # type: ignore[attr-defined]
    assert b"operator_refuses_poison" in dict(poison.headers)["detail"]  # type: ignore[attr-defined]
    cut = by_reason[b"oversized"]
    assert cut.value == oversized[:MAX_EVENT_BYTES]  # type: ignore[attr-defined]
    assert dict(cut.headers)["truncated"].startswith(f"value {len(oversized)} bytes".encode())  # type: ignore[attr-defined]

    # The worker keeps consuming: later events are stored, and another poison record too
    # is only a dead letter.
    later = [_zone(f"b{i}", now - timedelta(seconds=10 - i)) for i in range(5)]
    later.insert(2, _zone("poison-2", now - timedelta(seconds=9)))
    _send(isolated.kafka_bootstrap, events, later)
    total = len(first) + len(later)
    wait_for(lambda: committed(db) == total, 60, "the later events", worker.log_tail)
    assert _ids(db) == sorted([f"a{i}" for i in range(30)] + [f"b{i}" for i in range(5)])
    counts = dict(db.execute("SELECT reason, count FROM dead_letter_counts").fetchall())
    assert counts == {"store_failed": 2, "oversized": 1}
    assert worker.is_running(), worker.log_tail()
