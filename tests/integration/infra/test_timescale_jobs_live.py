"""TimescaleDB's policy jobs read from a live database, and housekeeping doing a failing
job's work there. Only with TimescaleDB installed; the decisions are unit-tested with a
fake (tests/unit/infra/test_timescale_jobs.py, tests/unit/streams/test_retention.py)."""

from __future__ import annotations

import psycopg
import pytest

from citypulse.config import StackSettings
from infra.db.migrate import detect_backend
from infra.db.timescale_jobs import JobHealth, read_policy_jobs
from streams.housekeeping import PostgresRetention
from streams.retention import fallbacks
from streams.retrying import RetryingConnection

Db = psycopg.Connection[tuple[object, ...]]


@pytest.fixture(autouse=True)
def _timescaledb(db: Db) -> None:
    if detect_backend(db) != "timescaledb":
        pytest.skip(
            "TimescaleDB is not installed in the test cluster (not in Debian's packages): "
            "the job watch and fallback decisions are unit-tested with a fake"
        )


def test_the_migrations_policy_jobs_are_read_with_their_kinds(db: Db) -> None:
    jobs = read_policy_jobs(db)
    kinds = {(j.kind, j.relation) for j in jobs}
    assert ("retention", "crowd_readings") in kinds
    assert ("retention", "environment_readings") in kinds
    views = ("crowd_stats_15m", "crowd_stats_1h", "crowd_stats_1d")
    assert {("refresh", v) for v in views} <= kinds
    assert ("compression", "crowd_stats_1m") in kinds


def test_each_fallback_runs_on_a_live_timescaledb(isolated: StackSettings, db: Db) -> None:
    """As if every job had failed: housekeeping's own drop_chunks and refresh succeed."""
    failing = [JobHealth(j, "failed") for j in read_policy_jobs(db)]
    store = PostgresRetention(RetryingConnection(isolated.db_conninfo))
    store.db.connection().autocommit = True
    try:
        plan = fallbacks(failing)
        assert {f.kind for f in plan} == {"drop_chunks", "refresh"}
        for fallback in plan:
            store.run_fallback(fallback)
        assert store.backend() == "timescaledb"
        assert store.policy_jobs()  # still readable after the work
    finally:
        store.db.close()
