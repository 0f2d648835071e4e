"""Which TimescaleDB policy jobs count as failing, and what /health and /metrics say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard_api.core.metrics import ApiMetrics
from infra.db.timescale_jobs import PolicyJob, health_report, job_health, unhealthy, warnings

NOW = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _job(status: str | None, next_start: datetime | None, every: timedelta = MINUTE,
         proc: str = "policy_refresh_continuous_aggregate") -> PolicyJob:  # fmt: skip
    return PolicyJob(1001, proc, "crowd_stats_1h", every, {}, status, None, next_start, 0)


@pytest.mark.parametrize(
    ("status", "next_start", "every", "problem"),
    [
        ("Success", NOW + MINUTE, MINUTE, None),
        (None, NOW + MINUTE, MINUTE, None),  # not run yet, not due
        ("Failed", NOW + MINUTE, MINUTE, "failed"),
        ("FAILED", NOW + MINUTE, MINUTE, "failed"),
        ("Success", NOW - 5 * MINUTE, MINUTE, None),  # a little behind: a busy scheduler
        ("Success", NOW - 12 * MINUTE, MINUTE, "late"),  # the scheduler is not running it
        (None, NOW - timedelta(hours=30), timedelta(days=1), "late"),
        ("Success", NOW - timedelta(hours=20), timedelta(days=1), None),
        ("Success", None, MINUTE, None),
    ],
)
def test_job_health(
    status: str | None, next_start: datetime | None, every: timedelta, problem: str | None
) -> None:
    assert job_health(_job(status, next_start, every), NOW).problem == problem


def test_job_kinds() -> None:
    kinds = [_job(None, None, proc=p).kind for p in
             ("policy_retention", "policy_compression", "policy_refresh_continuous_aggregate",
              "policy_job_stat_history_retention")]  # fmt: skip
    assert kinds == ["retention", "compression", "refresh", "other"]


def test_health_report_on_stock_postgresql() -> None:
    report = health_report(None, NOW)
    assert report["status"] == "ok" and report["backend"] == "postgresql"
    assert warnings(report) == []


def test_health_report_names_each_failing_job() -> None:
    jobs = [_job("Failed", NOW + MINUTE), _job("Success", NOW + MINUTE)]
    report = health_report(jobs, NOW)
    assert report["status"] == "failing" and report["jobs"] == 2
    assert [j["problem"] for j in report["failing"]] == ["failed"]
    assert warnings(report) == ["TimescaleDB job 1001 (refresh of crowd_stats_1h) failed"]
    assert health_report(jobs[1:], NOW)["status"] == "ok"


def test_metrics_show_each_job_and_drop_them_when_unread() -> None:
    metrics = ApiMetrics()
    metrics.set_policy_jobs([job_health(_job("Failed", NOW + MINUTE), NOW)])
    text = metrics.render().decode()
    labels = 'job_id="1001",kind="refresh",relation="crowd_stats_1h"'
    assert f"citypulse_db_policy_job_failing{{{labels}}} 1.0" in text
    metrics.set_policy_jobs(None)
    assert "citypulse_db_policy_job_failing{" not in metrics.render().decode()
    assert unhealthy([_job("Success", NOW + MINUTE)], NOW) == []
