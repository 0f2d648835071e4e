"""Sensor and feed health: which areas' inputs are fresh, stale or missing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from dashboard_api.api.deps import AreaRowsDep, ConnDep, HubDep, SettingsDep
from dashboard_api.present import feed_health, parse_state
from dashboard_api.schemas.responses import FeedsReport
from dashboard_api.store.operations import dead_letters, worker_heartbeats

router = APIRouter(prefix="/api/v1/feeds", tags=["feeds"])


@router.get("", response_model=FeedsReport)
async def feeds(
    rows: AreaRowsDep, hub: HubDep, conn: ConnDep, settings: SettingsDep
) -> dict[str, Any]:
    """Age and staleness of every area's inputs, the workers' heartbeats, dead letters."""
    states = {k: s for k, v in hub.latest.items() if "/" not in k and (s := parse_state(v))}
    body = feed_health(
        [r["code"] for r in rows], states, datetime.now(UTC), settings.feed_stale_after_s
    )
    workers = await worker_heartbeats(conn)
    for w in workers:
        w["status"] = "ok" if w["age_s"] <= settings.worker_stale_after_s else "stale"
    body["workers"] = workers
    body["dead_letters"] = await dead_letters(conn)
    body["kafka"] = {"connected": hub.connected, "states": len(hub.latest)}
    return body
