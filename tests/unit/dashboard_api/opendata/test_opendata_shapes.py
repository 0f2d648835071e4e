"""Must show (issue 20, 3): what CityPulse publishes validates against the official Smart
Data Models schema, and reads back with CityPulse's own adapters to the values it holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from citypulse.domain.area_state import AreaState
from dashboard_api.opendata.shapes import (
    area_entity,
    citydata_json,
    citydata_record,
    citydata_xml,
    crowd_flow_entity,
    states_of,
)
from sensors.adapters import iter_crowd_flow
from sensors.adapters.seoul_citydata import ParsedLivePopulation, parse_citydata_json
from sensors.adapters.seoul_citydata_xml import parse_citydata_xml
from sensors.events import ZoneCount
from sensors.registry import Zone, hotspots_by_code
from tests.sdm import SDM, sdm_validator

HOTSPOTS = hotspots_by_code()
AS_OF = datetime(2026, 3, 20, 14, 25, 37, tzinfo=UTC)  # 23:25:37 KST


def _validator() -> Draft202012Validator:
    return sdm_validator("CrowdFlowObserved")


def _state(**change: Any) -> AreaState:
    base: dict[str, Any] = {
        "scope": "area",
        "area_code": "POI009",
        "as_of": AS_OF,
        "people": 7240.4,
        "people_min": 7000.0,
        "people_max": 7500.0,
        "walkable_m2": 10_000.0,
        "density_per_m2": 0.724,
        "stage": "attention",
        "stage_ko": "관심",
        "comfort_level": "보통",
        "forecast": [
            {"horizon_min": 15, "density_per_m2": 0.8, "stage": "attention"},
            {"horizon_min": 60, "density_per_m2": 1.25, "stage": "caution"},
        ],
    }
    return AreaState.model_validate({**base, **change})


STATES = [
    _state(),
    _state(scope="zone", zone_id="exit-3", walkable_m2=620.0, people=412.0, people_min=None,
           people_max=None, stage="serious", comfort_level=None, forecast=[]),
    _state(area_code="POI999", people=0.2, people_min=None, people_max=None, comfort_level="여유"),
]  # fmt: skip


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.key)
def test_entities_validate_against_the_official_schema(state: AreaState) -> None:
    entity = crowd_flow_entity(state, HOTSPOTS.get(state.area_code))
    errors = [e.message for e in _validator().iter_errors(entity)]
    assert errors == []


def test_the_validator_can_fail() -> None:
    entity = crowd_flow_entity(STATES[0], HOTSPOTS["POI009"])
    bad = [{**entity, "peopleCount": -1}, {**entity, "dateObservedTo": "yesterday"},
           {k: v for k, v in entity.items() if k != "dateObserved"}]  # fmt: skip
    assert all(list(_validator().iter_errors(b)) for b in bad)


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.key)
def test_entities_read_back_with_the_fiware_adapter(state: AreaState) -> None:
    entity = crowd_flow_entity(state, HOTSPOTS.get(state.area_code))
    zone = entity["id"].removeprefix("urn:ngsi-ld:")
    zones = {zone: Zone(zone, "POI009", 1.0)}  # the area only; walkable m² from the entity
    (item,) = iter_crowd_flow(json.dumps(entity), zones=zones)
    assert isinstance(item, ZoneCount), item
    assert item.event_time == state.as_of
    assert item.count == round(state.people)
    assert item.walkable_m2 == state.walkable_m2


def _area_states() -> list[AreaState]:
    return [s for s in STATES if s.zone_id is None]


def _held(state: AreaState) -> dict[str, Any]:
    """What CityPulse holds, as Seoul's reply can say it (whole persons, KST minutes)."""
    minute = state.as_of.replace(second=0, microsecond=0)
    return {
        "area": state.area_code,
        "time": minute,
        "min": round(state.people_min if state.people_min is not None else state.people),
        "max": round(state.people_max if state.people_max is not None else state.people),
        "label": state.comfort_level,
        "forecast": [
            (minute.timestamp() + p.horizon_min * 60, round(p.density_per_m2 * state.walkable_m2))
            for p in state.forecast
        ],
    }


def _read(parsed: ParsedLivePopulation) -> dict[str, Any]:
    e = parsed.estimate
    return {
        "area": e.area_code,
        "time": e.event_time,
        "min": e.people_min,
        "max": e.people_max,
        "label": e.congestion_level,
        "forecast": [(f.time.timestamp(), f.people_min) for f in e.forecast],
    }


def test_citydata_json_reads_back_to_the_held_values() -> None:
    records = [citydata_record(s, HOTSPOTS.get(s.area_code)) for s in _area_states()]
    text = json.dumps(citydata_json(records), ensure_ascii=False)
    parsed = list(parse_citydata_json(text))
    assert all(isinstance(p, ParsedLivePopulation) for p in parsed), parsed
    assert [_read(p) for p in parsed] == [_held(s) for s in _area_states()]  # type: ignore[arg-type]


def test_citydata_xml_reads_back_to_the_held_values() -> None:
    records = [citydata_record(s, HOTSPOTS.get(s.area_code)) for s in _area_states()]
    parsed = list(parse_citydata_xml(citydata_xml(records)))
    assert all(isinstance(p, ParsedLivePopulation) for p in parsed), parsed
    assert [_read(p) for p in parsed] == [_held(s) for s in _area_states()]  # type: ignore[arg-type]


def test_no_data_reply_is_read_as_seoul_no_data() -> None:
    (reject,) = parse_citydata_json(json.dumps(citydata_json([], ok=False)))
    assert not isinstance(reject, ParsedLivePopulation) and "INFO-200" in reject.reason
    (reject,) = parse_citydata_xml(citydata_xml([], ok=False))
    assert not isinstance(reject, ParsedLivePopulation) and "INFO-200" in reject.reason


def test_states_of_skips_what_is_not_a_state() -> None:
    good = STATES[0].model_dump_json().encode()
    assert [s.key for s in states_of({"POI009": good, "x": b"{", "y": b"[]"})] == ["POI009"]


@pytest.mark.parametrize("name", ["2025-example.json", "2019-example.json"])
def test_the_official_key_values_examples_validate(name: str) -> None:
    example = json.loads((SDM / name).read_text(encoding="utf-8"))
    assert [e.message for e in _validator().iter_errors(example)] == []


def test_areas_validate_as_points_of_interest() -> None:
    validator = sdm_validator("PointOfInterest")
    held = {s.area_code: s for s in STATES if s.zone_id is None}
    entities = [area_entity(h, held.get(code)) for code, h in HOTSPOTS.items()]
    errors = {e["id"]: [x.message for x in validator.iter_errors(e)] for e in entities}
    assert {k: v for k, v in errors.items() if v} == {}
    poi009 = next(e for e in entities if e["id"].endswith("POI009"))
    assert poi009["occupancy"] == round(STATES[0].people)
    assert poi009["location"]["type"] == "Polygon"
    assert list(validator.iter_errors({**poi009, "occupancy": "many"}))  # it can fail
