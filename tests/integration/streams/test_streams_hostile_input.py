"""Hostile records through the real batch path and the real database sink.

The worker's steps in process (decode and validate, fold into live state, store with
PostgresBatchStore): every record ends stored or dead-lettered with a reason, nothing
raises, and the database's offsets and counts add up exactly.

The fuzz run takes CITYPULSE_FUZZ_RECORDS records (default 10,000); the recorded
100,000-record run is in docs/benchmarks.md ("Fuzz"):

    CITYPULSE_FUZZ_RECORDS=100000 /work/wt/it.sh . \\
        tests/integration/streams/test_streams_hostile_input.py -k fuzz
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

import psycopg
import pytest

from citypulse.config import StackSettings
from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, BatchResult, RawRecord, fold_isolating
from streams.live import LiveStates
from streams.sink import PostgresBatchStore, store_or_isolate
from tests.hostile_events import (
    KINDS,
    HostileFeed,
    assert_every_record_accounted,
    named,
    valid_event,
)

pytestmark = pytest.mark.integration
HOTSPOTS = hotspots_by_code()
TOPIC = "city-events"
PARTITIONS = 8
Conn = psycopg.Connection[tuple[object, ...]]


class InProcessWorker:
    """streams/agents.py's batch steps around the real store, minus Kafka."""

    def __init__(self, settings: StackSettings) -> None:
        self.store = PostgresBatchStore(settings.db_conninfo, "fuzz-worker")
        self.processor = BatchProcessor(HOTSPOTS)
        self.live = LiveStates(HOTSPOTS)
        self.next = [0] * PARTITIONS
        self.sent = 0
        self.dead: Counter[str] = Counter()
        self.rows = Counter[str]()

    def close(self) -> None:
        self.store.close()

    def run(self, values: list[bytes], now: datetime) -> BatchResult:
        recs = []
        for value in values:
            p = self.sent % PARTITIONS
            recs.append(RawRecord(TOPIC, p, self.next[p], f"k{p}".encode(), value))
            self.next[p] += 1
            self.sent += 1
        recs.sort(key=lambda r: (r.partition, r.offset))
        result = self.processor.process(recs, self.store.stored_offsets(TOPIC), now)
        fold_isolating(self.live.apply, result)
        while store_or_isolate(self.store, result):
            pass  # the worker sends these dead letters; they are in result.dead too
        assert_every_record_accounted(recs, result)
        for area, zone in sorted(self.live.keys(), key=str):
            self.live.state(area, zone, now)
        self.dead.update(d.reason for d in result.dead)
        self.rows["crowd_readings"] += len(result.readings)
        self.rows["environment_readings"] += len(result.environment)
        return result


@pytest.fixture
def worker(isolated: StackSettings) -> Iterator[InProcessWorker]:
    w = InProcessWorker(isolated)
    yield w
    w.close()


def _database_agrees(db: Conn, worker: InProcessWorker) -> None:
    offsets = dict(
        db.execute(
            "SELECT partition, next_offset FROM stream_offsets WHERE consumer = 'fuzz-worker'"
        ).fetchall()
    )
    assert offsets == {p: n for p, n in enumerate(worker.next) if n}  # exact, every record
    counts = dict(db.execute("SELECT reason, count FROM dead_letter_counts").fetchall())
    assert counts == dict(worker.dead)
    for table, rows in worker.rows.items():
        got = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        assert got is not None and got[0] == rows, table
    dupes = db.execute(
        "SELECT count(*) FROM (SELECT event_id FROM crowd_readings GROUP BY event_id"
        " HAVING count(*) > 1) d"
    ).fetchone()
    assert dupes == (0,)  # stored once each


def test_every_named_attack_ends_as_a_dead_letter_next_to_stored_neighbours(
    worker: InProcessWorker, db: Conn
) -> None:
    now = datetime.now(UTC)
    attacks = named(now - timedelta(seconds=30))
    good = [json.dumps(valid_event(k, f"good-{k}", now - timedelta(seconds=10))).encode()
            for k in KINDS]  # fmt: skip
    result = worker.run([*good, *attacks.values()], now)

    assert {d.record.value for d in result.dead} == set(attacks.values())
    assert all(d.reason and d.detail for d in result.dead)
    ids = {str(r[0]) for r in db.execute("SELECT event_id FROM crowd_readings").fetchall()}
    assert ids == {"good-population_estimate", "good-zone_count"}
    env = db.execute("SELECT event_id FROM environment_readings").fetchall()
    assert env == [("good-environment_reading",)]
    _database_agrees(db, worker)


def test_a_row_postgresql_refuses_is_dead_lettered_and_its_batch_stored_once(
    worker: InProcessWorker, db: Conn
) -> None:
    """A NUL in an id, as a reading would carry it were validation to let one through: the
    database refuses it (the crash of issue 13); the store finds it and stores the rest."""
    now = datetime.now(UTC)
    values = [json.dumps(valid_event("zone_count", f"z{i}", now - timedelta(seconds=i))).encode()
              for i in range(40)]  # fmt: skip
    recs = [RawRecord(TOPIC, 0, i, b"k", v) for i, v in enumerate(values)]
    result = worker.processor.process(recs, {}, now)
    bad = result.readings[17]
    bad.event_id = "z17\x00"  # past validation, as if it had a hole
    bad_rec = result.reading_records[17]

    poison = store_or_isolate(worker.store, result)

    assert [(d.record, d.reason) for d in poison] == [(bad_rec, "store_failed")]
    assert "0x00" in poison[0].detail  # PostgreSQL's own words
    assert store_or_isolate(worker.store, result) == []
    ids = [str(r[0]) for r in db.execute("SELECT event_id FROM crowd_readings").fetchall()]
    assert sorted(ids) == sorted(f"z{i}" for i in range(40) if i != 17)
    samples = db.execute("SELECT sum(samples) FROM crowd_stats_1m").fetchone()
    assert samples == (39,)
    assert db.execute("SELECT next_offset FROM stream_offsets").fetchall() == [(40,)]
    # the day partition made by the failed write and the probes was rolled back with them,
    # and made again by the write that stored: no row fell into the default partition
    assert db.execute("SELECT count(*) FROM crowd_readings_default").fetchone() == (0,)
    assert dict(db.execute("SELECT reason, count FROM dead_letter_counts").fetchall()) == {
        "store_failed": 1
    }


def test_fuzz_records_through_the_batch_path_and_the_database(
    worker: InProcessWorker, db: Conn
) -> None:
    total = int(os.environ.get("CITYPULSE_FUZZ_RECORDS", "10000"))
    now = datetime.now(UTC)
    feed = HostileFeed(seed=int(os.environ.get("CITYPULSE_FUZZ_SEED", "13")), now=now)
    began = time.monotonic()
    while worker.sent < total:
        worker.run(list(islice(feed, min(5000, total - worker.sent))), now)
    elapsed = time.monotonic() - began

    _database_agrees(db, worker)
    crowd = db.execute("SELECT count(*) FROM crowd_readings").fetchone()
    summary = {
        "records": worker.sent,
        "stored_rows": dict(worker.rows),
        "dead_letters": dict(sorted(worker.dead.items())),
        "seconds": round(elapsed, 1),
    }
    print("FUZZ", json.dumps(summary))  # noqa: T201  # the figures docs/benchmarks.md quotes
    assert crowd is not None and crowd[0] > total // 10  # the feed stores plenty
    assert sum(worker.dead.values()) > total // 3
