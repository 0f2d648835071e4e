"""Retention's decisions (streams/retention.py) against a fake database: which daily
partitions go, which stay, and which failing TimescaleDB jobs housekeeping takes over."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from infra.db.migrate import Backend
from infra.db.timescale_jobs import PolicyJob
from streams.retention import (
    RETAINED,
    Fallback,
    RetentionPolicy,
    expired_partitions,
    partition_day,
    run_retention,
)
from streams.settings import WorkerSettings

NOW = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("parent", "name", "expected"),
    [
        ("crowd_readings", "crowd_readings_p20260903", date(2026, 9, 3)),
        ("crowd_readings", "crowd_readings_default", None),
        ("crowd_readings", "crowd_readings_p2026090", None),  # not a whole date
        ("crowd_readings", "crowd_readings_p20261332", None),  # no such day
        ("crowd_readings", "crowd_stats_1m_p20260903", None),  # another table's
        ("crowd_stats_1m", "crowd_stats_1m_p20260903", date(2026, 9, 3)),
        ("crowd_readings", "", None),
    ],
)
def test_partition_day(parent: str, name: str, expected: date | None) -> None:
    assert partition_day(parent, name) == expected


@pytest.mark.parametrize(
    ("cutoff", "expected"),
    [
        # A day goes once all of it is older than the cutoff, as TimescaleDB drops chunks.
        (datetime(2026, 9, 4, 0, 0, tzinfo=UTC),
         ["crowd_readings_p20260902", "crowd_readings_p20260903"]),
        (datetime(2026, 9, 3, 23, 59, tzinfo=UTC), ["crowd_readings_p20260902"]),
        (datetime(2026, 9, 1, tzinfo=UTC), []),
    ],
)  # fmt: skip
def test_expired_partitions(cutoff: datetime, expected: list[str]) -> None:
    names = ["crowd_readings_p20260904", "crowd_readings_p20260903", "crowd_readings_default",
             "crowd_readings_p20260902", "hand_made_archive"]  # fmt: skip
    assert expired_partitions("crowd_readings", names, cutoff) == expected


def test_raw_and_minute_stats_have_their_own_retention() -> None:
    policy = RetentionPolicy(raw_days=90, stats_1m_days=400)
    cutoffs = {t.table: policy.cutoff(t, NOW) for t in RETAINED}
    assert cutoffs["crowd_readings"] == NOW - timedelta(days=90)
    assert cutoffs["environment_readings"] == NOW - timedelta(days=90)
    assert cutoffs["crowd_stats_1m"] == NOW - timedelta(days=400)
    assert not {"crowd_stats_15m", "crowd_stats_1h", "crowd_stats_1d"} & set(cutoffs)


def test_defaults_match_timescaledb_policy() -> None:
    settings = WorkerSettings()
    assert settings.retention_raw_days == 90  # add_retention_policy(..., '90 days')
    assert settings.retention_stats_1m_days > settings.retention_raw_days


def test_minute_stats_must_outlive_late_events() -> None:
    """A late event recomputes its day's rollups from the minute stats."""
    with pytest.raises(ValueError, match="CITYPULSE_RETENTION_STATS_1M_DAYS"):
        WorkerSettings(retention_stats_1m_days=7, max_event_age_s=7 * 86_400)
    assert WorkerSettings(retention_stats_1m_days=9, max_event_age_s=7 * 86_400)


def _job(job_id: int, proc: str, relation: str, status: str | None,
         config: Mapping[str, Any] | None = None) -> PolicyJob:  # fmt: skip
    return PolicyJob(job_id, proc, relation, timedelta(days=1), config or {}, status,
                     None, NOW + timedelta(hours=1), 3 if status == "Failed" else 0)  # fmt: skip


@dataclass
class FakeStore:
    backend_name: Backend
    tables: dict[str, list[str]] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)
    jobs: list[PolicyJob] = field(default_factory=list)
    default_rows: dict[str, list[datetime]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    ran: list[Fallback] = field(default_factory=list)

    def backend(self) -> Backend:
        return self.backend_name

    def partitions(self, parent: str) -> list[str]:
        return list(self.tables.get(parent, []))

    def drop_partition(self, name: str) -> bool:
        if name in self.busy:
            return False
        self.dropped.append(name)
        return True

    def delete_older(self, table: str, time_column: str, cutoff: datetime) -> int:
        rows = self.default_rows.get(table, [])
        self.default_rows[table] = [t for t in rows if t >= cutoff]
        return len(rows) - len(self.default_rows[table])

    def policy_jobs(self) -> list[PolicyJob]:
        return self.jobs

    def run_fallback(self, fallback: Fallback) -> None:
        self.ran.append(fallback)


def _days(parent: str, first: date, n: int) -> list[str]:
    return [f"{parent}_p{(first + timedelta(days=i)):%Y%m%d}" for i in range(n)] + [
        f"{parent}_default"
    ]


def test_stock_postgresql_drops_old_partitions_and_keeps_the_rest() -> None:
    start = date(2025, 9, 1)  # 457 days before NOW: some past 90 days, some past 400
    store = FakeStore(
        "postgresql",
        tables={t.table: _days(t.table, start, 460) for t in RETAINED},
        busy={"crowd_readings_p20250901"},
        default_rows={"crowd_readings_default": [NOW - timedelta(days=200), NOW]},
    )
    report = run_retention(store, RetentionPolicy(90, 400), NOW)
    kept_raw = set(store.tables["crowd_readings"]) - set(store.dropped)
    # Day D goes once D + 1 day <= NOW - 90 days, that is D <= 2026-09-02.
    assert "crowd_readings_p20260902" in store.dropped
    assert "crowd_readings_p20260903" in kept_raw
    assert "environment_readings_p20260902" in store.dropped
    assert "crowd_stats_1m_p20251027" in store.dropped  # NOW - 400 days = 2025-10-28 07:30
    assert "crowd_stats_1m_p20251028" not in store.dropped
    assert not any(n.endswith("_default") for n in store.dropped)
    assert report.skipped == ["crowd_readings_p20250901"]  # busy: the next pass
    assert report.deleted_rows == 1 and store.default_rows["crowd_readings_default"] == [NOW]
    assert report.fallbacks == [] and store.ran == []


def test_timescaledb_with_healthy_jobs_leaves_everything_to_them() -> None:
    store = FakeStore("timescaledb", jobs=[
        _job(1000, "policy_retention", "crowd_readings", "Success"),
        _job(1001, "policy_refresh_continuous_aggregate", "crowd_stats_1h", None),
    ])  # fmt: skip
    report = run_retention(store, RetentionPolicy(), NOW)
    assert report.failing_jobs == [] and store.ran == [] and store.dropped == []


def test_timescaledb_failing_jobs_are_done_by_housekeeping() -> None:
    store = FakeStore("timescaledb", jobs=[
        _job(1000, "policy_retention", "crowd_readings", "Failed", {"drop_after": "90 days"}),
        _job(1001, "policy_compression", "crowd_readings", "Failed"),
        _job(1002, "policy_refresh_continuous_aggregate", "crowd_stats_1h", "Failed",
             {"start_offset": "3 days", "end_offset": "00:01:00"}),
        _job(1003, "policy_retention", "environment_readings", "Success"),
    ])  # fmt: skip
    report = run_retention(store, RetentionPolicy(), NOW)
    assert [h.job.job_id for h in report.failing_jobs] == [1000, 1001, 1002]
    assert [(f.kind, f.relation, f.job_id) for f in store.ran] == [
        ("drop_chunks", "crowd_readings", 1000),
        ("refresh", "crowd_stats_1h", 1002),
    ]  # compression is reported only
    assert store.ran[0].config["drop_after"] == "90 days"  # the job's own setting
    assert store.dropped == []  # chunks, not partitions


def test_a_job_the_scheduler_never_runs_is_taken_over() -> None:
    late = PolicyJob(1000, "policy_retention", "crowd_readings", timedelta(days=1), {},
                     "Success", NOW - timedelta(days=5), NOW - timedelta(days=3))  # fmt: skip
    store = FakeStore("timescaledb", jobs=[late])
    report = run_retention(store, RetentionPolicy(), NOW)
    assert [h.problem for h in report.failing_jobs] == ["late"]
    assert [f.kind for f in store.ran] == ["drop_chunks"]
