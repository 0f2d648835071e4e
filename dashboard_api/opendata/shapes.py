"""Area and zone states in other people's shapes: Smart Data Models `CrowdFlowObserved`
entities for FIWARE brokers, and Seoul's own `citydata_ppltn` reply (JSON and XML) so
Seoul's clients read CityPulse unchanged. Pure: states in, documents out.

What is shared is what the dashboard shows the public: head counts, comfort labels and
times per area or zone; nothing about people, recipients or operators.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, timedelta
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from pydantic import ValidationError

from citypulse.domain.area_state import AreaState
from citypulse.domain.korea_time import KST
from sensors.registry import Hotspot

ENTITY_PREFIX = "urn:ngsi-ld:CrowdFlowObserved:citypulse:"
SDM_CONTEXT = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/"
    "master/context.jsonld"
)
CONGESTED_STAGES = frozenset({"caution", "alert", "serious"})  # 주의 and above
SEOUL_OK = ("INFO-000", "정상 처리되었습니다.")
SEOUL_NO_DATA = ("INFO-200", "해당하는 데이터가 없습니다.")


def states_of(latest: Mapping[str, bytes]) -> list[AreaState]:
    """The hub's latest messages that are valid area states, in key order."""
    out: list[AreaState] = []
    for key in sorted(latest):
        try:
            out.append(AreaState.model_validate_json(latest[key]))
        except ValidationError:
            continue  # the dashboard skips what it cannot read; so do we
    return out


def _persons(value: float | None, fallback: float) -> int:
    v = fallback if value is None or not math.isfinite(value) else value
    return max(0, round(v))


def crowd_flow_entity(state: AreaState, hotspot: Hotspot | None) -> dict[str, Any]:
    """One state as a key-values `CrowdFlowObserved` (schema.json of the data model).

    The observation is the instant of the state (`dateObserved` = `dateObservedTo`);
    `walkableArea` is CityPulse's extension, which its own FIWARE adapter reads back.
    """
    key = state.area_code if state.zone_id is None else f"{state.area_code}:{state.zone_id}"
    when = state.as_of.astimezone(UTC).isoformat().replace("+00:00", "Z")
    entity: dict[str, Any] = {
        "id": f"{ENTITY_PREFIX}{key}",
        "type": "CrowdFlowObserved",
        "dateObserved": when,
        "dateObservedTo": when,
        "peopleCount": _persons(state.people, 0.0),
        "congested": state.stage in CONGESTED_STAGES,
        "walkableArea": state.walkable_m2,
        "source": "CityPulse",
        "dataProvider": "CityPulse",
    }
    if hotspot is not None:
        entity["name"] = hotspot.name_en or hotspot.name_ko
        entity["areaServed"] = hotspot.district
        entity["location"] = hotspot.polygon.to_geojson()
    return entity


def area_entity(hotspot: Hotspot, state: AreaState | None) -> dict[str, Any]:
    """A registry area as a key-values `PointOfInterest` with its polygon; `occupancy` is
    the current head count when CityPulse holds a state for the area."""
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:PointOfInterest:citypulse:{hotspot.code}",
        "type": "PointOfInterest",
        "name": hotspot.name_ko,
        "alternateName": hotspot.name_en or hotspot.name_ko,
        "category": [hotspot.category] if hotspot.category else [],
        "address": {
            "addressCountry": "KR",
            "addressRegion": "서울특별시",
            "addressLocality": hotspot.district,
        },
        "location": hotspot.polygon.to_geojson(),
        "refSeeAlso": [f"{ENTITY_PREFIX}{hotspot.code}"],
        "source": "CityPulse",
        "dataProvider": "CityPulse",
    }
    if not entity["category"]:
        del entity["category"]
    if state is not None:
        entity["occupancy"] = _persons(state.people, 0.0)
    return entity


def _kst_minute(state: AreaState, plus: timedelta = timedelta()) -> str:
    return (state.as_of + plus).astimezone(KST).strftime("%Y-%m-%d %H:%M")


def citydata_record(state: AreaState, hotspot: Hotspot | None) -> dict[str, Any]:
    """One area state as Seoul's LIVE_PPLTN_STTS record (the fields CityPulse holds).

    Counts are whole persons, times KST to the minute as Seoul gives them; the forecast
    points carry CityPulse's fused estimate (min = max) and no comfort label.
    """
    people = _persons(state.people, 0.0)
    lo = min(_persons(state.people_min, people), people)
    hi = max(_persons(state.people_max, people), people)
    record: dict[str, Any] = {
        "AREA_NM": hotspot.name_ko if hotspot else state.area_code,
        "AREA_CD": state.area_code,
        "AREA_CONGEST_LVL": state.comfort_level or "",
        "AREA_PPLTN_MIN": str(lo),
        "AREA_PPLTN_MAX": str(hi),
        "REPLACE_YN": "N",
        "PPLTN_TIME": _kst_minute(state),
        "FCST_YN": "Y" if state.forecast else "N",
    }
    record["FCST_PPLTN"] = [
        {
            "FCST_TIME": _kst_minute(state, timedelta(minutes=p.horizon_min)),
            "FCST_PPLTN_MIN": str(n := _persons(p.density_per_m2 * state.walkable_m2, 0.0)),
            "FCST_PPLTN_MAX": str(n),
        }
        for p in state.forecast
    ]
    return record


def citydata_json(records: Iterable[Mapping[str, Any]], ok: bool = True) -> dict[str, Any]:
    code, message = SEOUL_OK if ok else SEOUL_NO_DATA
    return {
        "SeoulRtd.citydata_ppltn": list(records),
        "RESULT": {"RESULT.CODE": code, "RESULT.MESSAGE": message},
    }


def citydata_xml(records: Iterable[Mapping[str, Any]], ok: bool = True) -> str:
    """Seoul's XML: one <SeoulRtd.citydata_ppltn> per record, list fields as
    <FCST_PPLTN><FCST_PPLTN>row</FCST_PPLTN>..</FCST_PPLTN>, then RESULT."""
    root = Element("Map")
    for record in records:
        node = SubElement(root, "SeoulRtd.citydata_ppltn")
        for name, value in record.items():
            child = SubElement(node, name)
            if isinstance(value, list):
                for row in value:
                    item = SubElement(child, name)
                    for leaf, text in row.items():
                        SubElement(item, leaf).text = str(text)
            else:
                child.text = str(value)
    code, message = SEOUL_OK if ok else SEOUL_NO_DATA
    result = SubElement(root, "RESULT")
    SubElement(result, "RESULT.CODE").text = code
    SubElement(result, "RESULT.MESSAGE").text = message
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode")
