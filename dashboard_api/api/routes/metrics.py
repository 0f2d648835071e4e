"""Prometheus metrics of the API: requests, websocket fan-out, live states, open alerts."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from dashboard_api.api.deps import PoolDep
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.store.operations import open_alerts_by_stage

router = APIRouter(tags=["metrics"])


async def _open_alerts(pool: PoolDep) -> dict[tuple[str, str], float] | None:
    try:
        async with asyncio.timeout(2), pool.connection() as conn:
            rows = await open_alerts_by_stage(conn)
    except Exception:  # the scrape must still answer while the database is away
        return None
    return {(r["stage"], r["status"]): r["n"] for r in rows}


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, pool: PoolDep) -> Response:
    """Metrics in the Prometheus text format."""
    api_metrics: ApiMetrics = request.app.state.metrics
    api_metrics.set_open_alerts(await _open_alerts(pool))
    body, content_type = api_metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)
