"""TimescaleDB's own background jobs (continuous-aggregate refresh, compression,
retention), read from `timescaledb_information`, and which of them are failing.

TimescaleDB runs these policies in its background workers and says nothing when they
fail: with 2.28.3 built by hand on PostgreSQL 15.20 every one of them failed with
`cannot drop portal "" while it is being set up`, so raw data grew and the rollups
stopped. The API reports failing jobs (/health, /metrics) and the worker's housekeeping
does their work itself (streams/housekeeping.py). The decision is pure (`job_health`);
reading is one query for either driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg

# The policy jobs of the configured schema. A continuous aggregate's refresh job names its
# materialization hypertable, so the view is looked up to name what it refreshes.
POLICY_JOBS = """
SELECT j.job_id, j.proc_name, coalesce(ca.view_name, j.hypertable_name) AS relation,
       j.schedule_interval, j.config, s.last_run_status, s.last_successful_finish,
       s.next_start, s.total_failures
  FROM timescaledb_information.jobs j
  LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
  LEFT JOIN timescaledb_information.continuous_aggregates ca
         ON ca.materialization_hypertable_schema = j.hypertable_schema
        AND ca.materialization_hypertable_name = j.hypertable_name
 WHERE j.proc_name LIKE 'policy\\_%' AND j.scheduled
   AND coalesce(ca.view_schema, j.hypertable_schema) = current_schema()
 ORDER BY j.job_id
"""

JobKind = Literal["retention", "compression", "refresh", "other"]
_KINDS: dict[str, JobKind] = {
    "policy_retention": "retention",
    "policy_compression": "compression",
    "policy_refresh_continuous_aggregate": "refresh",
}
# A job whose next start is this far past (beyond its own interval) is not being run at
# all: the scheduler is stopped or its workers are used up.
LATE_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class PolicyJob:
    job_id: int
    proc_name: str
    relation: str  # the hypertable, or the continuous aggregate a refresh job fills
    schedule_interval: timedelta
    config: Mapping[str, Any]
    last_run_status: str | None  # 'Success' | 'Failed' | None before the first run
    last_successful_finish: datetime | None
    next_start: datetime | None
    total_failures: int = 0

    @property
    def kind(self) -> JobKind:
        return _KINDS.get(self.proc_name, "other")


@dataclass(frozen=True)
class JobHealth:
    job: PolicyJob
    problem: Literal["failed", "late"] | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def job_health(job: PolicyJob, now: datetime) -> JobHealth:
    """Failed: its last run failed. Late: it should have started long ago and did not."""
    if job.last_run_status is not None and job.last_run_status.lower() == "failed":
        return JobHealth(job, "failed")
    if job.next_start is not None and now - job.next_start > job.schedule_interval + LATE_GRACE:
        return JobHealth(job, "late")
    return JobHealth(job, None)


def unhealthy(jobs: Iterable[PolicyJob], now: datetime) -> list[JobHealth]:
    return [h for h in (job_health(j, now) for j in jobs) if not h.ok]


def describe(health: JobHealth) -> dict[str, Any]:
    """One job as /health shows it."""
    j = health.job
    return {
        "job_id": j.job_id,
        "kind": j.kind,
        "relation": j.relation,
        "problem": health.problem,
        "total_failures": j.total_failures,
        "last_success": None
        if j.last_successful_finish is None
        else j.last_successful_finish.isoformat(),
    }


def health_report(jobs: Sequence[PolicyJob] | None, now: datetime) -> dict[str, Any]:
    """What /health says of the policy jobs; `jobs` is None on stock PostgreSQL, where
    housekeeping is the policy."""
    if jobs is None:
        return {"status": "ok", "backend": "postgresql", "failing": []}
    failing = [describe(h) for h in unhealthy(jobs, now)]
    return {
        "status": "failing" if failing else "ok",
        "backend": "timescaledb",
        "jobs": len(jobs),
        "failing": failing,
    }


def warnings(report: Mapping[str, Any]) -> list[str]:
    return [
        f"TimescaleDB job {j['job_id']} ({j['kind']} of {j['relation']}) {j['problem']}"
        for j in report.get("failing", [])
    ]


def _job(row: Sequence[Any]) -> PolicyJob:
    job_id, proc, relation, interval, config, status, success, next_start, failures = row
    return PolicyJob(
        job_id=int(job_id),
        proc_name=str(proc),
        relation=str(relation),
        schedule_interval=interval if isinstance(interval, timedelta) else timedelta(0),
        config=config if isinstance(config, Mapping) else {},
        last_run_status=None if status is None else str(status),
        last_successful_finish=success,
        next_start=next_start,
        total_failures=int(failures or 0),
    )


def read_policy_jobs(conn: psycopg.Connection[Any]) -> list[PolicyJob]:
    return [_job(r) for r in conn.execute(POLICY_JOBS).fetchall()]


async def read_policy_jobs_async(
    conn: psycopg.AsyncConnection[Any],
) -> list[PolicyJob] | None:
    """The policy jobs, or None when TimescaleDB is not installed."""
    cur = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    if await cur.fetchone() is None:
        return None
    cur = await conn.execute(POLICY_JOBS)
    return [_job(r) for r in await cur.fetchall()]
