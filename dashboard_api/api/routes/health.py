"""Health of the stack as the API sees it: Kafka, the database and the stream worker."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dashboard_api.api.deps import HubDep, PoolDep, SettingsDep
from infra.db.migrate import detect_backend_async

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


def _kafka(hub: HubDep) -> dict[str, Any]:
    if not hub.connected:
        return {"status": "down"}
    age = None if hub.last_message_at is None else round(time.monotonic() - hub.last_message_at, 1)
    return {"status": "ok", "area_states": len(hub.latest), "last_message_age_s": age}


@router.get("/health")
async def health(pool: PoolDep, hub: HubDep, settings: SettingsDep) -> JSONResponse:
    """Status of Kafka, the database and the worker; HTTP 200 only when all are ok."""
    cached = _cache.get("health")
    if cached is not None and time.monotonic() - cached[0] < settings.health_cache_s:
        body = cached[1]
    else:
        database, worker = await asyncio.gather(
            _database(pool), _worker(pool, settings.worker_stale_after_s)
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
        body = {"status": overall, "components": components}
        _cache["health"] = (time.monotonic(), body)
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
