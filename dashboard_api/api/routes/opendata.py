"""Public, read-only open data: area and zone states as FIWARE `CrowdFlowObserved`
entities for brokers to pull, and Seoul's `citydata_ppltn` reply shape so that Seoul's
existing clients work against CityPulse by changing the host only. Anonymous callers
are rate-limited like every /api/ route; nothing personal is served."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from dashboard_api.api.deps import HubDep
from dashboard_api.opendata.shapes import (
    SDM_CONTEXT,
    area_entity,
    citydata_json,
    citydata_record,
    citydata_xml,
    crowd_flow_entity,
    states_of,
)
from dashboard_api.schemas.opendata import CitydataPpltnOut, NgsiEntityOut
from sensors.registry import hotspots_by_code

router = APIRouter(prefix="/api/v1/opendata", tags=["open data"])


@router.get("/crowdflow", response_model=list[NgsiEntityOut])
async def crowd_flow_entities(
    hub: HubDep,
    area: str | None = Query(default=None, max_length=16, pattern=r"^POI\d{3}$"),
    ld: bool = False,
) -> list[dict[str, Any]]:
    """Every current area and zone state as a key-values `CrowdFlowObserved` (Smart Data
    Models; `ld=true` adds the NGSI-LD @context)."""
    hotspots = hotspots_by_code()
    out = []
    for state in states_of(hub.latest):
        if area is not None and state.area_code != area:
            continue
        entity = crowd_flow_entity(state, hotspots.get(state.area_code))
        if ld:
            entity["@context"] = [SDM_CONTEXT]
        out.append(entity)
    return out


@router.get("/areas", response_model=list[NgsiEntityOut])
async def area_entities(hub: HubDep) -> list[dict[str, Any]]:
    """Every registry area as a key-values `PointOfInterest` (Smart Data Models) with
    its polygon, and its current head count as `occupancy` where CityPulse holds one."""
    held = {s.area_code: s for s in states_of(hub.latest) if s.zone_id is None}
    return [area_entity(h, held.get(code)) for code, h in sorted(hotspots_by_code().items())]


@router.get(
    "/seoul/{key}/{fmt}/citydata_ppltn/{start}/{end}/{area}",
    response_model=CitydataPpltnOut,
    responses={200: {"content": {"application/xml": {}}}},
)
async def citydata_ppltn(
    hub: HubDep, key: str, fmt: Literal["json", "xml"], start: int, end: int, area: str
) -> Response:
    """Seoul's `citydata_ppltn` for one area (AREA_CD or its Korean name), as Seoul
    answers it; the key is ignored (public data). An area CityPulse holds no state for
    answers Seoul's INFO-200 (no data), with status 404."""
    hotspots = hotspots_by_code()
    by_name = {h.name_ko: code for code, h in hotspots.items()}
    code = area if area in hotspots else by_name.get(area, area)
    states = [s for s in states_of(hub.latest) if s.area_code == code and s.zone_id is None]
    records = [citydata_record(s, hotspots.get(code)) for s in states[:1]]
    found = bool(records)
    code_status = status.HTTP_200_OK if found else status.HTTP_404_NOT_FOUND
    if fmt == "xml":
        return Response(citydata_xml(records, ok=found), code_status, media_type="application/xml")
    return JSONResponse(citydata_json(records, ok=found), code_status)
