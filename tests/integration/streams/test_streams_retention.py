"""Retention on stock PostgreSQL against the real schema: daily partitions past their
retention are dropped by housekeeping, the newer ones and every rollup stay; and a
running worker does it on its own timer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from citypulse.config import StackSettings
from infra.db.migrate import detect_backend
from streams.housekeeping import Housekeeping
from streams.retention import RetentionPolicy
from tests.integration.support import WorkerFactory, wait_for

Db = psycopg.Connection[tuple[object, ...]]
ROLLUPS = ("crowd_stats_15m", "crowd_stats_1h", "crowd_stats_1d")
# Ages in days of the days written: either side of 90 (raw) and 400 (1-minute stats).
RAW_AGES = (200, 95, 91, 89, 30, 1)
STATS_AGES = (410, 402, 398, 95, 1)
HOURS = (3, 9, 15, 21)  # a few readings and minutes per day, across its rollup buckets


@pytest.fixture(autouse=True)
def _stock_postgresql(db: Db) -> None:
    if detect_backend(db) == "timescaledb":
        pytest.skip("TimescaleDB is installed: its own policies drop chunks there")


def _day(now: datetime, age: int) -> datetime:
    return (now - timedelta(days=age)).replace(hour=0, minute=0, second=0, microsecond=0)


def _write_history(db: Db, now: datetime) -> None:
    """Readings and 1-minute stats on the days of RAW_AGES and STATS_AGES (each day with
    its partition), one stray old reading in the default partition, and the rollups."""
    for table, ages in (("crowd_readings", RAW_AGES), ("environment_readings", RAW_AGES),
                        ("crowd_stats_1m", STATS_AGES)):  # fmt: skip
        for age in ages:
            d = _day(now, age)
            db.execute("SELECT cp_ensure_day_partitions(%s, %s, %s)", (table, d, d))
    for age in RAW_AGES:
        for hour in HOURS:
            t = _day(now, age) + timedelta(hours=hour)
            db.execute(
                "INSERT INTO crowd_readings (area_code, source, origin, event_id, event_time,"
                " ingest_time, people) VALUES ('POI001', 'telecom', 'test', %s, %s, %s, 100)",
                (f"r{age}-{hour}", t, t),
            )
            db.execute(
                "INSERT INTO environment_readings (sensor_id, origin, event_id, event_time,"
                " ingest_time, reading) VALUES ('S1', 'test', %s, %s, %s, '{}')",
                (f"e{age}-{hour}", t, t),
            )
    for age in STATS_AGES:
        for hour in HOURS:
            t = _day(now, age) + timedelta(hours=hour)
            db.execute(
                "INSERT INTO crowd_stats_1m (area_code, source, bucket, samples, people_sum,"
                " people_min, people_max, people_last, last_event_time, walkable_m2)"
                " VALUES ('POI001', 'telecom', %s, 2, 200, 100, 100, 100, %s, 1000)",
                (t, t),
            )
    # A day without its partition (written before the partition was made, say): default.
    stray = _day(now, 150) + timedelta(hours=2)
    db.execute(
        "INSERT INTO crowd_readings (area_code, source, origin, event_id, event_time,"
        " ingest_time, people) VALUES ('POI001', 'telecom', 'test', 'stray', %s, %s, 1)",
        (stray, stray),
    )
    db.execute("SELECT cp_refresh_crowd_rollups(%s, %s)", (_day(now, max(STATS_AGES) + 1), now))


def _partitions(db: Db, parent: str) -> set[str]:
    rows = db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = to_regclass(%s)",
        (parent,),
    ).fetchall()
    return {str(r[0]) for r in rows}


def _count(db: Db, table: str, where: str = "true") -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE " + where).format(sql.Identifier(table))  # noqa: S608 - where is a literal of this file
    row = db.execute(query).fetchone()
    return int(str(row[0])) if row else -1


def _rollups(db: Db) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: db.execute(
            sql.SQL("SELECT * FROM {} ORDER BY bucket").format(sql.Identifier(t))
        ).fetchall()
        for t in ROLLUPS
    }


def test_partitions_past_retention_are_dropped_and_rollups_kept(
    isolated: StackSettings, db: Db
) -> None:
    now = datetime.now(UTC)
    _write_history(db, now)
    rollups_before = _rollups(db)
    assert all(rollups_before.values()), "every rollup holds the written days"
    assert len(rollups_before["crowd_stats_1d"]) >= len(STATS_AGES)

    housekeeping = Housekeeping(isolated.db_conninfo)
    try:
        report = housekeeping.apply_retention(RetentionPolicy(raw_days=90, stats_1m_days=400), now)
    finally:
        housekeeping.close()

    assert report is not None and report.backend == "postgresql"
    for table, ages, keep in (("crowd_readings", RAW_AGES, 90),
                              ("environment_readings", RAW_AGES, 90),
                              ("crowd_stats_1m", STATS_AGES, 400)):  # fmt: skip
        left = _partitions(db, table)
        for age in ages:
            name = f"{table}_p{_day(now, age):%Y%m%d}"
            if age > keep:
                assert name not in left, f"{name} is past {keep} days and should be gone"
            else:
                assert name in left, f"{name} is within {keep} days and should stay"
        assert f"{table}_default" in left
    assert sorted(report.dropped) == sorted(
        [f"crowd_readings_p{_day(now, a):%Y%m%d}" for a in RAW_AGES if a > 90]
        + [f"environment_readings_p{_day(now, a):%Y%m%d}" for a in RAW_AGES if a > 90]
        + [f"crowd_stats_1m_p{_day(now, a):%Y%m%d}" for a in STATS_AGES if a > 400]
    )
    # No raw row older than 90 days is left, the stray one in the default partition too.
    assert _count(db, "crowd_readings", "event_time < now() - interval '90 days'") == 0
    assert report.deleted_rows == 1
    kept_raw = sum(1 for a in RAW_AGES if a <= 90) * len(HOURS)
    assert _count(db, "crowd_readings") == kept_raw
    assert _count(db, "environment_readings") == kept_raw
    assert _count(db, "crowd_stats_1m") == sum(1 for a in STATS_AGES if a <= 400) * len(HOURS)
    assert _rollups(db) == rollups_before, "rollups are kept whole"

    # A second pass finds nothing more to drop.
    again = Housekeeping(isolated.db_conninfo)
    try:
        second = again.apply_retention(RetentionPolicy(raw_days=90, stats_1m_days=400), now)
    finally:
        again.close()
    assert second is not None and second.dropped == [] and second.deleted_rows == 0


def test_a_running_worker_drops_old_partitions_on_its_timer(
    isolated: StackSettings, db: Db, worker_factory: WorkerFactory
) -> None:
    now = datetime.now(UTC)
    _write_history(db, now)
    rollups_before = _rollups(db)
    old = f"crowd_readings_p{_day(now, 95):%Y%m%d}"
    recent = f"crowd_readings_p{_day(now, 89):%Y%m%d}"
    assert {old, recent} <= _partitions(db, "crowd_readings")

    worker_factory(CITYPULSE_RETENTION_CHECK_S="1", CITYPULSE_RETENTION_RAW_DAYS="90")
    wait_for(
        lambda: old not in _partitions(db, "crowd_readings"),
        90,
        f"the worker to drop {old}",
        lambda: ", ".join(sorted(_partitions(db, "crowd_readings"))),
    )
    assert recent in _partitions(db, "crowd_readings")
    assert _rollups(db) == rollups_before
