"""The public open-data routes over a hub holding known states (no broker, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citypulse.domain.area_state import AreaState
from dashboard_api.api.routes import opendata
from sensors.adapters.seoul_citydata import ParsedLivePopulation, parse_citydata_json
from sensors.adapters.seoul_citydata_xml import parse_citydata_xml

STATE = AreaState(
    scope="area", area_code="POI009", as_of=datetime(2026, 3, 20, 14, 25, tzinfo=UTC),
    people=7240.0, walkable_m2=10_000.0, density_per_m2=0.724, stage="attention",
    stage_ko="관심", comfort_level="보통",
)  # fmt: skip
ZONE = STATE.model_copy(update={"scope": "zone", "zone_id": "exit-3", "people": 40.0})


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(opendata.router)
    latest = {
        "POI009": STATE.model_dump_json().encode(),
        "POI009/exit-3": ZONE.model_dump_json().encode(),
        "junk": b"{",
    }
    app.state.hub = SimpleNamespace(latest=latest)
    return TestClient(app)


def test_crowdflow_lists_area_and_zone_entities(client: TestClient) -> None:
    r = client.get("/api/v1/opendata/crowdflow", params={"area": "POI009", "ld": "true"})
    assert r.status_code == 200
    ids = [e["id"] for e in r.json()]
    assert ids == ["urn:ngsi-ld:CrowdFlowObserved:citypulse:POI009",
                   "urn:ngsi-ld:CrowdFlowObserved:citypulse:POI009:exit-3"]  # fmt: skip
    assert all("@context" in e for e in r.json())
    assert client.get("/api/v1/opendata/crowdflow", params={"area": "x'--"}).status_code == 422


@pytest.mark.parametrize("area", ["POI009", "광화문·덕수궁"])
def test_seoul_shape_by_code_or_name(client: TestClient, area: str) -> None:
    base = "/api/v1/opendata/seoul/anykey/{}/citydata_ppltn/1/5/" + area
    j = client.get(base.format("json"))
    x = client.get(base.format("xml"))
    assert (j.status_code, x.status_code) == (200, 200)
    assert x.headers["content-type"].startswith("application/xml")
    for parsed in (*parse_citydata_json(j.content), *parse_citydata_xml(x.text)):
        assert isinstance(parsed, ParsedLivePopulation), parsed
        assert (parsed.estimate.area_code, parsed.estimate.people_min) == ("POI009", 7240)
        assert parsed.estimate.congestion_level == "보통"


def test_seoul_shape_unknown_area_is_seoul_no_data(client: TestClient) -> None:
    r = client.get("/api/v1/opendata/seoul/k/json/citydata_ppltn/1/5/POI001")
    assert r.status_code == 404
    assert json.loads(r.content)["RESULT"]["RESULT.CODE"] == "INFO-200"
    assert client.get("/api/v1/opendata/seoul/k/csv/citydata_ppltn/1/5/POI009").status_code == 422


def test_areas_are_points_of_interest(client: TestClient) -> None:
    r = client.get("/api/v1/opendata/areas")
    assert r.status_code == 200
    by_id = {e["id"]: e for e in r.json()}
    assert by_id["urn:ngsi-ld:PointOfInterest:citypulse:POI009"]["occupancy"] == 7240
    assert "occupancy" not in by_id["urn:ngsi-ld:PointOfInterest:citypulse:POI001"]
