"""The sink's offset fence: a batch whose records the database already holds is refused whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citypulse.config import StackSettings
from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, RawRecord
from streams.sink import PostgresBatchStore, StaleOffsets

TOPIC = "fence.city-events"


def _records(first: int, count: int, partition: int = 0) -> list[RawRecord]:
    now = datetime.now(UTC).isoformat()
    return [
        RawRecord(TOPIC, partition, offset, b"POI009", (
            f'{{"v":1,"event_id":"f{partition}-{offset}","source":"test","event_time":"{now}",'
            f'"ingest_time":"{now}","kind":"zone_count","area_code":"POI009","zone_id":"Z1",'
            f'"counter_id":"c1","count":100,"walkable_m2":500}}'
        ).encode())
        for offset in range(first, first + count)
    ]  # fmt: skip


def _samples(db: psycopg.Connection[tuple[object, ...]]) -> int:
    row = db.execute("SELECT coalesce(sum(samples), 0) FROM crowd_stats_1m").fetchone()
    return int(str(row[0])) if row else 0


def test_a_batch_overlapping_stored_offsets_is_refused_whole(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    now = datetime.now(UTC) + timedelta(seconds=5)
    processor = BatchProcessor(hotspots_by_code())
    owner = PostgresBatchStore(isolated.db_conninfo, "fence-worker")
    old_owner = PostgresBatchStore(isolated.db_conninfo, "fence-worker")
    try:
        owner.write(processor.process(_records(0, 100), {}, now))
        # The partition's previous owner still writes a batch it fetched from offset 50,
        # with another partition in the same transaction: nothing of it may land.
        late = processor.process(_records(50, 100) + _records(0, 10, partition=1), {}, now)
        with pytest.raises(StaleOffsets, match="stored up to 100, batch starts at 50"):
            old_owner.write(late)
        assert _samples(db) == 100
        assert owner.stored_offsets(TOPIC) == {(TOPIC, 0): 100}

        # Resumed from the stored offsets, the same records are dropped as replays and
        # only the new ones count.
        resumed = processor.process(
            _records(50, 100) + _records(0, 10, partition=1), owner.stored_offsets(TOPIC), now
        )
        assert resumed.skipped_replays == 50
        old_owner.write(resumed)
        assert _samples(db) == 160
        assert owner.stored_offsets(TOPIC) == {(TOPIC, 0): 150, (TOPIC, 1): 10}
    finally:
        owner.close()
        old_owner.close()
