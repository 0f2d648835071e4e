"""Areas: the map (GeoJSON with live state), one area's detail, its crowd history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import AwareDatetime

from citypulse import seoul_forecasts
from dashboard_api.api.deps import AreaRowsDep, ConnDep, HubDep
from dashboard_api.live.filters import STAGE_RANK, STAGES
from dashboard_api.present import (
    feature_collection,
    history_points,
    parse_state,
    risk_key,
    state_summary,
)
from dashboard_api.schemas.responses import AreaCollection, AreaDetail, AreaHistory
from dashboard_api.store.areas import list_zones
from dashboard_api.store.history import Resolution, crowd_history

router = APIRouter(prefix="/api/v1/areas", tags=["areas"])
AreaCode = Annotated[str, Path(pattern=r"^POI[0-9]{3}$", description="e.g. POI009")]
MAX_SPAN = {
    "1m": timedelta(days=7),
    "15m": timedelta(days=92),
    "1h": timedelta(days=400),
    "1d": timedelta(days=3660),
}


def _states(hub: HubDep) -> dict[str, dict[str, Any]]:
    parsed = {k: parse_state(v) for k, v in hub.latest.items() if "/" not in k}
    return {k: v for k, v in parsed.items() if v is not None}


def _area(rows: AreaRowsDep, code: str) -> dict[str, Any]:
    for row in rows:
        if row["code"] == code:
            return row
    raise HTTPException(404, f"no area {code}")


@router.get("", response_model=AreaCollection)
async def list_areas(
    rows: AreaRowsDep,
    hub: HubDep,
    district: Annotated[str | None, Query(max_length=40)] = None,
    min_stage: Annotated[str | None, Query(pattern="^(" + "|".join(STAGES) + ")$")] = None,
) -> dict[str, Any]:
    """Every hotspot as a GeoJSON Feature with its current state, highest risk first."""
    states = _states(hub)
    chosen = [r for r in rows if district is None or r["district"] == district]
    if district is not None and not chosen:
        raise HTTPException(422, f"unknown district: {district}")
    if min_stage is not None:
        floor = STAGE_RANK[min_stage]
        chosen = [r for r in chosen if risk_key(states.get(r["code"]))[0] >= floor]
    chosen.sort(key=lambda r: risk_key(states.get(r["code"])), reverse=True)
    body = feature_collection(chosen, states)
    body["seq"], body["epoch"] = hub.seq, hub.epoch
    return body


@router.get("/{code}", response_model=AreaDetail)
async def area_detail(
    code: AreaCode, rows: AreaRowsDep, hub: HubDep, conn: ConnDep
) -> dict[str, Any]:
    """One area: registry facts, current state with its sources, its zones and their states,
    and Seoul's own newest population forecast for it (null until one is received)."""
    row = _area(rows, code)
    state = parse_state(hub.latest.get(code))
    zones = []
    for z in await list_zones(conn, code):
        zstate = parse_state(hub.latest.get(f"{code}/{z['zone_id']}"))
        zones.append({**z, "state": state_summary(zstate)})
    walkable = float(row["area_m2"]) * float(row["walkable_fraction"])
    return {
        "code": code,
        "name_ko": row["name_ko"],
        "name_en": row["name_en"],
        "district": row["district"],
        "category": row["category"],
        "area_m2": row["area_m2"],
        "walkable_m2": walkable,
        "thresholds": row["thresholds"],
        "state": state_summary(state),
        "sources": (state or {}).get("sources", []),
        "zones": zones,
        "seoul_forecast": await seoul_forecasts.latest(conn, code),
    }


@router.get("/{code}/history", response_model=AreaHistory)
async def area_history(
    code: AreaCode,
    rows: AreaRowsDep,
    conn: ConnDep,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    resolution: Resolution = "1m",
    zone: Annotated[str, Query(pattern=r"^[A-Za-z0-9_.-]{0,40}$")] = "",
) -> dict[str, Any]:
    """Crowd per bucket and source from the rollups; `from`/`to` ISO 8601 with a zone offset."""
    _area(rows, code)
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=24)
    if end <= start:
        raise HTTPException(422, "`to` must be after `from`")
    if end - start > MAX_SPAN[resolution]:
        raise HTTPException(
            422, f"at {resolution} resolution ask for at most {MAX_SPAN[resolution]}"
        )
    points = history_points(await crowd_history(conn, code, zone, resolution, start, end))
    return {
        "area_code": code,
        "zone_id": zone,
        "resolution": resolution,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "points": points,
    }
