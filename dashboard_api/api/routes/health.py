"""Health of the stack as the API sees it: Kafka, the database and the stream worker,
and on TimescaleDB its policy jobs."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dashboard_api.api.deps import HubDep, PoolDep, SettingsDep
from infra.db.migrate import detect_backend_async
from infra.db.timescale_jobs import health_report, read_policy_jobs_async, warnings

router = APIRouter(tags=["health"])
Status = Literal["ok", "degraded", "down"]
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


async def _database(pool: PoolDep) -> dict[str, Any]:
    try:
        async with asyncio.timeout(3), pool.connection() as conn:
            backend = await detect_backend_async(conn)
            row = await (await conn.execute("SHOW server_version")).fetchone()
        return {"status": "ok", "backend": backend, "version": row[0] if row else None}
    except Exception as exc:
        return {"status": "down", "backend": None, "error": type(exc).__name__}


async def _worker(pool: PoolDep, stale_after_s: float) -> dict[str, Any]:
    try:
        async with asyncio.timeout(3), pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT worker_id, extract(epoch FROM now() - last_seen) FROM worker_heartbeats"
                    " WHERE role = 'stream-worker'"
                )
            ).fetchall()
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    live = [w for w, age in rows if float(age) <= stale_after_s]
    status: Status = "ok" if live else "down"
    return {"status": status, "workers": sorted(live)}


async def _policy_jobs(pool: PoolDep) -> dict[str, Any]:
    """TimescaleDB's retention, compression and refresh jobs. Failing ones do not make
    /health 503: the service still serves, and the worker's housekeeping does their work;
    they show here, in `warnings` and in /metrics until someone fixes TimescaleDB."""
    try:
        async with asyncio.timeout(3), pool.connection() as conn:
            jobs = await read_policy_jobs_async(conn)
    except Exception as exc:
        return {"status": "unknown", "error": type(exc).__name__}
    return health_report(jobs, datetime.now(UTC))


def _kafka(hub: HubDep) -> dict[str, Any]:
    if not hub.connected:
        return {"status": "down"}
    age = None if hub.last_message_at is None else round(time.monotonic() - hub.last_message_at, 1)
    return {"status": "ok", "area_states": len(hub.latest), "last_message_age_s": age}


@router.get("/health")
async def health(pool: PoolDep, hub: HubDep, settings: SettingsDep) -> JSONResponse:
    """Status of Kafka, the database and the worker; HTTP 200 only when all are ok.
    Failing TimescaleDB policy jobs are listed in `warnings` without changing it."""
    cached = _cache.get("health")
    if cached is not None and time.monotonic() - cached[0] < settings.health_cache_s:
        body = cached[1]
    else:
        database, worker, jobs = await asyncio.gather(
            _database(pool), _worker(pool, settings.worker_stale_after_s), _policy_jobs(pool)
        )
        components = {"kafka": _kafka(hub), "database": database, "worker": worker}
        states = [c["status"] for c in components.values()]
        overall: Status = (
            "ok"
            if all(s == "ok" for s in states)
            else "down"
            if all(s == "down" for s in states)
            else "degraded"
        )
        body = {
            "status": overall,
            "components": components,
            "policy_jobs": jobs,  # beside the components: it does not gate the status
            "warnings": warnings(jobs),
        }
        _cache["health"] = (time.monotonic(), body)
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
