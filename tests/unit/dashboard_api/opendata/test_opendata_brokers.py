"""The two broker flavours over a mock transport: what goes on the wire, what their
answers mean, and that CityPulse's own FIWARE adapter reads the wire form back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from citypulse.domain.area_state import AreaState
from dashboard_api.opendata.brokers import (
    BrokerRejected,
    BrokerUnavailable,
    NgsiLdBroker,
    NgsiV2Broker,
    ld_normalized,
    v2_normalized,
)
from dashboard_api.opendata.shapes import area_entity, crowd_flow_entity
from sensors.adapters import iter_crowd_flow
from sensors.events import ZoneCount
from sensors.registry import Zone, hotspots_by_code
from tests.sdm import key_values, sdm_validator

HOTSPOTS = hotspots_by_code()
STATE = AreaState(
    scope="area", area_code="POI009", as_of=datetime(2026, 3, 20, 14, 25, 37, tzinfo=UTC),
    people=7240.4, walkable_m2=10_000.0, density_per_m2=0.724, stage="caution",
    stage_ko="주의", comfort_level="약간 붐빔",
)  # fmt: skip
FLOW = crowd_flow_entity(STATE, HOTSPOTS["POI009"])
AREA = area_entity(HOTSPOTS["POI009"], STATE)
HEADERS = {"Authorization": "Bearer t0ken", "Fiware-Service": "incheon"}


def _client(answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_v2_appends_normalized_entities() -> None:
    seen: list[httpx.Request] = []
    broker = NgsiV2Broker(
        "http://orion:1026", _client(lambda _: httpx.Response(204), seen), HEADERS
    )
    assert await broker.upsert([FLOW, AREA]) == []
    (request,) = seen
    assert str(request.url) == "http://orion:1026/v2/op/update"
    assert (request.headers["authorization"], request.headers["fiware-service"]) == (
        "Bearer t0ken", "incheon")  # fmt: skip
    body = json.loads(request.content)
    assert body["actionType"] == "append"
    flow = body["entities"][0]
    assert flow["location"]["type"] == "geo:json"
    assert flow["dateObserved"] == {"type": "DateTime", "value": FLOW["dateObserved"]}
    assert (flow["peopleCount"]["type"], flow["congested"]) == (
        "Number", {"type": "Boolean", "value": True})  # fmt: skip
    assert [key_values(e) for e in body["entities"]] == [FLOW, AREA]


def test_v2_text_with_characters_orion_forbids_is_unrestricted() -> None:
    attrs = v2_normalized({"id": "x", "type": "T", "name": "DDP(동대문디자인플라자)", "n": "ok"})
    assert (attrs["name"]["type"], attrs["n"]["type"]) == ("TextUnrestricted", "Text")


async def test_ld_upserts_with_context_and_reads_refusals_from_207() -> None:
    seen: list[httpx.Request] = []
    errors = {"success": [AREA["id"]], "errors": [{"entityId": FLOW["id"], "error": {}}]}
    broker = NgsiLdBroker(
        "http://ld:1026", _client(lambda _: httpx.Response(207, json=errors), seen), HEADERS
    )
    assert await broker.upsert([FLOW, AREA]) == [FLOW["id"]]
    (request,) = seen
    assert str(request.url) == "http://ld:1026/ngsi-ld/v1/entityOperations/upsert"
    assert request.headers["content-type"] == "application/ld+json"
    flow, area = json.loads(request.content)
    assert flow["location"]["type"] == "GeoProperty"
    assert flow["@context"] != area["@context"]  # each data model its own context
    assert [key_values(e) for e in (flow, area)] == [FLOW, AREA]


@pytest.mark.parametrize("normalize", [v2_normalized, ld_normalized])
def test_the_wire_form_validates_and_reads_back(normalize: Callable[[Any], Any]) -> None:
    wire = normalize(FLOW)
    assert list(sdm_validator().iter_errors(key_values(wire))) == []
    assert list(sdm_validator("PointOfInterest").iter_errors(key_values(normalize(AREA)))) == []
    zones = {"CrowdFlowObserved:citypulse:POI009": Zone("x", "POI009", 1.0)}
    (item,) = iter_crowd_flow(json.dumps(wire), zones=zones)
    assert isinstance(item, ZoneCount), item
    assert (item.event_time, item.count) == (STATE.as_of, round(STATE.people))


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, BrokerUnavailable), (500, BrokerUnavailable), (429, BrokerUnavailable),
     (401, BrokerUnavailable), (400, BrokerRejected), (422, BrokerRejected),
     (413, BrokerRejected)],
)  # fmt: skip
@pytest.mark.parametrize("flavour", [NgsiV2Broker, NgsiLdBroker])
async def test_answers_that_are_not_success(status: int, error: type, flavour: type) -> None:
    seen: list[httpx.Request] = []
    broker = flavour("http://b", _client(lambda _: httpx.Response(status, text="no"), seen), {})
    with pytest.raises(error):
        await broker.upsert([FLOW])


async def test_a_broker_that_cannot_be_reached_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    broker = NgsiV2Broker("http://b", _client(refuse, []), {})
    with pytest.raises(BrokerUnavailable, match="ConnectError"):
        await broker.upsert([FLOW])
