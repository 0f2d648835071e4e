"""Prometheus metrics of the API: requests, websocket fan-out, live states, open alerts,
TimescaleDB's policy jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from dashboard_api.api.deps import PoolDep
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.store.operations import open_alerts_by_stage
from infra.db.timescale_jobs import JobHealth, job_health, read_policy_jobs_async

router = APIRouter(tags=["metrics"])


async def _open_alerts(pool: PoolDep) -> dict[tuple[str, str], float] | None:
    try:
        async with asyncio.timeout(2), pool.connection() as conn:
            rows = await open_alerts_by_stage(conn)
    except Exception:  # the scrape must still answer while the database is away
        return None
    return {(r["stage"], r["status"]): r["n"] for r in rows}


async def _policy_jobs(pool: PoolDep) -> list[JobHealth] | None:
    try:
        async with asyncio.timeout(2), pool.connection() as conn:
            jobs = await read_policy_jobs_async(conn)
    except Exception:
        return None
    now = datetime.now(UTC)
    return [job_health(j, now) for j in jobs or ()]


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, pool: PoolDep) -> Response:
    """Metrics in the Prometheus text format."""
    api_metrics: ApiMetrics = request.app.state.metrics
    api_metrics.set_open_alerts(await _open_alerts(pool))
    api_metrics.set_policy_jobs(await _policy_jobs(pool))
    body, content_type = api_metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)
