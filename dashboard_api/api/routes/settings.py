"""Stage thresholds per area and zone, and event-day profiles (operators and admins)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from citypulse.domain.stages import DEFAULT_THRESHOLDS
from dashboard_api.api.audit import audited
from dashboard_api.api.deps import (
    AreaRowsDep,
    ConnDep,
    OperatorDep,
    district_of,
    require_district,
)
from dashboard_api.schemas.auth import UserPublic
from dashboard_api.schemas.operations import EventDayCreate, ThresholdsUpdate
from dashboard_api.schemas.responses import EventDayOut, ThresholdChange, ThresholdConfig
from dashboard_api.store import areas as area_store
from dashboard_api.store import operations as ops_store

router = APIRouter(prefix="/api/v1/config", tags=["config"])
AreaCode = Annotated[str, Path(pattern=r"^POI[0-9]{3}$")]
ZoneId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]


def _thresholds(body: ThresholdsUpdate) -> dict[str, Any]:
    return {"thresholds": body.thresholds and body.thresholds.model_dump()}


def _require_areas(caller: UserPublic, rows: list[dict[str, Any]], codes: list[str]) -> None:
    """Every listed area in the caller's districts; no list means every area (the city)."""
    if not codes:
        require_district(caller, None, "a profile for every area")
    for code in codes:
        require_district(caller, district_of(rows, code), f"area {code}")


@router.get("/thresholds", response_model=ThresholdConfig)
async def thresholds(conn: ConnDep, _caller: OperatorDep) -> dict[str, Any]:
    """The default stage thresholds, every area and zone override, and event-day profiles."""
    return {
        "default": dataclasses.asdict(DEFAULT_THRESHOLDS),
        "overrides": await area_store.threshold_overrides(conn),
        "event_days": await ops_store.event_days(conn),
    }


@router.put("/thresholds/{code}", response_model=ThresholdChange)
async def set_area_thresholds(
    code: AreaCode, body: ThresholdsUpdate, rows: AreaRowsDep, conn: ConnDep, caller: OperatorDep
) -> dict[str, Any]:
    """Set (or clear with null) one area's stage thresholds."""
    require_district(caller, district_of(rows, code), f"area {code}")
    value = body.thresholds.model_dump_json() if body.thresholds else None
    async with audited(conn, caller, "thresholds.set_area", code, _thresholds(body)):
        if not await area_store.set_area_thresholds(conn, code, value):
            raise HTTPException(404, f"no area {code}")
    return {"area_code": code, "thresholds": body.thresholds}


@router.put("/thresholds/{code}/zones/{zone_id}", response_model=ThresholdChange)
async def set_zone_thresholds(
    code: AreaCode,
    zone_id: ZoneId,
    body: ThresholdsUpdate,
    rows: AreaRowsDep,
    conn: ConnDep,
    caller: OperatorDep,
) -> dict[str, Any]:
    """Set (or clear with null) one zone's stage thresholds."""
    require_district(caller, district_of(rows, code), f"area {code}")
    value = body.thresholds.model_dump_json() if body.thresholds else None
    target = f"{code}/{zone_id}"
    async with audited(conn, caller, "thresholds.set_zone", target, _thresholds(body)):
        if not await area_store.set_zone_thresholds(conn, code, zone_id, value):
            raise HTTPException(404, f"no zone {target}")
    return {"area_code": code, "zone_id": zone_id, "thresholds": body.thresholds}


@router.post("/event-days", status_code=201, response_model=EventDayOut)
async def create_event_day(
    body: EventDayCreate, rows: AreaRowsDep, conn: ConnDep, caller: OperatorDep
) -> dict[str, Any]:
    """Add an event-day profile: stricter thresholds for some areas in a time window."""
    known = {r["code"] for r in rows}
    unknown = [c for c in body.area_codes if c not in known]
    if unknown:
        raise HTTPException(422, f"unknown area: {unknown[0]}")
    _require_areas(caller, rows, body.area_codes)
    data = body.model_dump(mode="json")
    async with audited(conn, caller, "event_day.create", data=data) as line:
        profile = await ops_store.create_event_day(
            conn,
            name=body.name,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            thresholds=body.thresholds.model_dump(),
            area_codes=body.area_codes,
            created_by=caller.username,
            expected_people=body.expected_people,
        )
        line.target = str(profile["id"])
    return profile


@router.delete("/event-days/{profile_id}", status_code=204)
async def delete_event_day(
    profile_id: int, rows: AreaRowsDep, conn: ConnDep, caller: OperatorDep
) -> None:
    """Remove an event-day profile."""
    if not caller.may_act_in(None):
        profile = next((p for p in await ops_store.event_days(conn) if p["id"] == profile_id), None)
        _require_areas(caller, rows, profile["area_codes"] if profile else [])
    async with audited(conn, caller, "event_day.delete", str(profile_id)):
        if not await ops_store.delete_event_day(conn, profile_id):
            raise HTTPException(404, f"no event-day profile {profile_id}")
