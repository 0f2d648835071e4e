"""Migrations are idempotent and the backend-specific schema is in place."""

from __future__ import annotations

import psycopg
import pytest

from citypulse.config import StackSettings
from infra.db.migrate import detect_backend, migrate


def test_migrations_applied_twice_change_nothing(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    before = db.execute("SELECT version, checksum, applied_at FROM schema_migrations").fetchall()
    assert len(before) >= 3
    assert migrate(isolated.db_conninfo, isolated.db_schema) == []
    after = db.execute("SELECT version, checksum, applied_at FROM schema_migrations").fetchall()
    assert after == before


def test_stock_postgresql_fallback_schema(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    if detect_backend(db) == "timescaledb":
        pytest.skip("TimescaleDB is installed: the stock-PostgreSQL fallback is not used")
    kinds = dict(
        db.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s",
            (isolated.db_schema,),
        ).fetchall()
    )
    for table in ("crowd_readings", "environment_readings", "crowd_stats_1m"):
        assert kinds[table] == "p", f"{table} should be range-partitioned"
        assert kinds[f"{table}_default"] == "r"
    for rollup in ("crowd_stats_15m", "crowd_stats_1h", "crowd_stats_1d"):
        assert kinds[rollup] == "r"

    # A row for a day without a partition lands in the default one, and moves into its
    # own day partition when that is created.
    db.execute(
        "INSERT INTO crowd_stats_1m VALUES ('POI001', '', 'telecom', '2026-06-04 10:01+09', 2, "
        "300, 100, 200, 200, '2026-06-04 10:01:30+09', 1000)"
    )
    assert db.execute(
        "SELECT cp_ensure_day_partitions('crowd_stats_1m', '2026-06-04 00:00Z', "
        "'2026-06-04 00:00Z')"
    ).fetchone() == (1,)
    where = db.execute("SELECT tableoid::regclass::text FROM crowd_stats_1m").fetchall()
    assert where == [("crowd_stats_1m_p20260604",)]
    db.execute("SELECT cp_refresh_crowd_rollups('2026-06-04 00:00+09', '2026-06-05 00:00+09')")
    hourly = db.execute("SELECT bucket, samples, people_sum FROM crowd_stats_1h").fetchall()
    assert [(b.isoformat(), n, s) for b, n, s in hourly] == [
        ("2026-06-04T01:00:00+00:00", 2, 300.0)
    ]


def test_timescaledb_hypertables(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    if detect_backend(db) != "timescaledb":
        pytest.skip(
            "timescaledb extension not installed (not in this machine's package registries); "
            "the stock-PostgreSQL fallback is tested instead"
        )
    hyper = {
        r[0]
        for r in db.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = %s",
            (isolated.db_schema,),
        ).fetchall()
    }
    assert {"crowd_readings", "environment_readings", "crowd_stats_1m"} <= hyper


def test_alerts_opened_at_is_documented_as_the_decision_time(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    """0003's line comment called it event time; the catalogue says what the engine does."""
    (comment,) = db.execute(
        "SELECT col_description(%s::regclass, a.attnum) FROM pg_attribute a "
        "WHERE a.attrelid = %s::regclass AND a.attname = 'opened_at'",
        (f"{isolated.db_schema}.alerts", f"{isolated.db_schema}.alerts"),
    ).fetchone() or (None,)
    assert comment is not None
    assert "decided" in str(comment) and "not the event time" in str(comment)


def test_reading_indexes_are_ascending_in_time_on_stock_postgresql(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    """0023: each area's newest readings go at the end of its run, where the btree's
    splits leave pages full; a day partition made after it carries the same index."""
    if detect_backend(db) == "timescaledb":
        pytest.skip("TimescaleDB keeps 0002's DESC index (0023's .timescaledb.sql says why)")
    db.execute(
        "SELECT cp_ensure_day_partitions('crowd_readings', '2026-06-04 00:00Z', "
        "'2026-06-04 00:00Z')"
    )
    rows = db.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s"
        " AND tablename IN ('crowd_readings', 'environment_readings',"
        " 'crowd_readings_p20260604')",
        (isolated.db_schema,),
    ).fetchall()
    defs = {str(name): str(definition) for name, definition in rows}
    assert defs["crowd_readings_area_time"].endswith("(area_code, event_time)")
    assert defs["environment_readings_sensor_time"].endswith("(sensor_id, event_time)")
    day = [d for name, d in defs.items() if "p20260604" in name]
    assert len(day) == 1 and day[0].endswith("(area_code, event_time)") and "DESC" not in day[0]
