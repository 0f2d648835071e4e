"""The sink's 1-minute stats: one statement a batch, merged into what the database holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from citypulse.config import StackSettings
from streams.batch import BatchResult
from streams.crowd.windows import StatsPartial
from streams.sink import PostgresBatchStore

MINUTE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)


def _partial(samples: int, total: float, lo: float, hi: float, last: float, at_s: int,
             walkable: float = 500.0) -> StatsPartial:  # fmt: skip
    return StatsPartial(samples, total, lo, hi, last, MINUTE + timedelta(seconds=at_s), walkable)


def _rows(
    db: psycopg.Connection[tuple[object, ...]],
) -> dict[tuple[object, ...], tuple[object, ...]]:
    rows = db.execute(
        "SELECT area_code, zone_id, source, samples, people_sum, people_min, people_max,"
        " people_last, extract(epoch FROM last_event_time - bucket), walkable_m2"
        " FROM crowd_stats_1m"
    ).fetchall()
    return {tuple(r[:3]): tuple(float(str(v)) for v in r[3:]) for r in rows}


def test_stats_rows_of_many_batches_merge_as_sums_extremes_and_last_by_time(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    store = PostgresBatchStore(isolated.db_conninfo, "stats-worker")
    telecom = ("POI001", "", "telecom", MINUTE)
    zone = ("POI001", "Z1", "zone_counter", MINUTE)
    other = ("POI002", "Z2", "zone_counter", MINUTE)
    try:
        # Whole numbers where floats are usual: the arrays must still be one type each.
        store.write(BatchResult(stats={
            zone: _partial(2, 300, 100, 200, 200, 20),
            telecom: _partial(1, 5000.5, 5000.5, 5000.5, 5000.5, 0, 40_000.0),
            other: StatsPartial(3, 30, 5, 15, 10, MINUTE + timedelta(seconds=50), 80),
        }))  # fmt: skip
        # A later batch with a newer reading, and a late one with an older reading: the
        # sums and extremes take both, people_last and walkable_m2 only the newest.
        store.write(BatchResult(stats={zone: _partial(1, 400.0, 400.0, 400.0, 400.0, 40, 600)}))
        store.write(BatchResult(stats={zone: _partial(2, 110.0, 50.0, 60.0, 60.0, 30, 700)}))
    finally:
        store.close()
    assert _rows(db) == {
        ("POI001", "Z1", "zone_counter"): (5, 810, 50, 400, 400, 40, 600),
        ("POI001", "", "telecom"): (1, 5000.5, 5000.5, 5000.5, 5000.5, 0, 40_000),
        ("POI002", "Z2", "zone_counter"): (3, 30, 5, 15, 10, 50, 80),
    }
