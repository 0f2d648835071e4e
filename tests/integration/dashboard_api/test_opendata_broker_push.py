"""The push to FIWARE brokers from a running API, against a local stand-in broker that
records what it is sent (Orion cannot be installed here): the entities arrive in both
flavours with the configured credentials and validate against the Smart Data Models
schemas; while the broker is down the API keeps answering, and once it is back it holds
the newest state."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from sensors.adapters import iter_crowd_flow
from sensors.events import ZoneCount
from sensors.registry import Zone
from tests.integration.dashboard_api.conftest import ApiStack, area_state, free_port
from tests.integration.support import wait_for
from tests.sdm import key_values, sdm_validator

TOKEN = "push-test-token"  # noqa: S105
FLOW = "urn:ngsi-ld:CrowdFlowObserved:citypulse:POI009"
ZONE = "urn:ngsi-ld:CrowdFlowObserved:citypulse:POI009:exit-3"
AREA = "urn:ngsi-ld:PointOfInterest:citypulse:POI009"
PATHS = {"/v2/op/update": "v2", "/ngsi-ld/v1/entityOperations/upsert": "ld"}


class StandInBroker:
    """Answers both flavours' batch upserts on one port and keeps every entity it got."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                flavour = PATHS.get(self.path.split("?")[0])
                entities = body["entities"] if flavour == "v2" else body
                with stand_in.lock:
                    for e in entities if flavour else []:
                        stand_in.received.append((flavour or "", dict(self.headers), e))
                self.send_response(204 if flavour else 404)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def entities(self, flavour: str, entity_id: str) -> list[dict[str, Any]]:
        """Every version of one entity the broker was sent, oldest first, as key-values."""
        with self.lock:
            return [
                key_values(e) for f, _, e in self.received if (f, e["id"]) == (flavour, entity_id)
            ]

    def holds(self, flavour: str, entity_id: str) -> dict[str, Any] | None:
        got = self.entities(flavour, entity_id)
        return got[-1] if got else None


@pytest.fixture
def broker() -> Iterator[StandInBroker]:
    stand_in = StandInBroker(free_port())
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def api_extra_env(broker: StandInBroker) -> dict[str, str]:
    url = f"http://127.0.0.1:{broker.port}"
    return {
        "CITYPULSE_BROKER_V2_URL": url,
        "CITYPULSE_BROKER_LD_URL": url,
        "CITYPULSE_BROKER_TOKEN": TOKEN,
        "CITYPULSE_BROKER_HEADERS": '{"Fiware-Service": "incheon"}',
        "CITYPULSE_BROKER_PERIOD_S": "0.2",
        "CITYPULSE_BROKER_BACKOFF_BASE_S": "0.2",
        "CITYPULSE_BROKER_BACKOFF_MAX_S": "1",
        "CITYPULSE_BROKER_TIMEOUT_S": "2",
    }


def _people(broker: StandInBroker, flavour: str) -> int | None:
    held = broker.holds(flavour, FLOW)
    return None if held is None else int(held["peopleCount"])


def _failures(stack: ApiStack) -> float:
    text = httpx.get(f"{stack.base}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("citypulse_broker_push_failures_total{") and "unavailable" in line
    )


def test_entities_reach_the_broker_and_survive_its_outage(
    api_stack: ApiStack, broker: StandInBroker
) -> None:
    api_stack.publish(area_state("POI009", 0.7243, "attention"),
                      area_state("POI009", 1.1, "caution", zone="exit-3"))  # fmt: skip

    def arrived() -> bool:
        return all(broker.holds(f, i) for f in ("v2", "ld") for i in (FLOW, ZONE, AREA))

    wait_for(arrived, 30, "the entities at the stand-in broker", lambda: str(broker.received))
    assert {_people(broker, "v2"), _people(broker, "ld")} == {7243}
    with broker.lock:
        headers = [h for _, h, _ in broker.received]
    assert all(h["Authorization"] == f"Bearer {TOKEN}" for h in headers)
    assert all(h["Fiware-Service"] == "incheon" for h in headers)
    for flavour in ("v2", "ld"):
        for entity_id in (FLOW, ZONE, AREA):
            entity = broker.holds(flavour, entity_id)
            assert entity is not None
            errors = sdm_validator(entity["type"]).iter_errors(entity)
            assert [e.message for e in errors] == [], (flavour, entity_id)
    # what CityPulse published, its own FIWARE adapter reads back
    with broker.lock:
        v2_flow = next(e for f, _, e in broker.received if (f, e["id"]) == ("v2", FLOW))
    zones = {"CrowdFlowObserved:citypulse:POI009": Zone("x", "POI009", 1.0)}
    (item,) = iter_crowd_flow(json.dumps(v2_flow), zones=zones)
    assert isinstance(item, ZoneCount) and item.count == 7243

    broker.stop()  # the broker goes away; two newer states come in meanwhile
    before = _failures(api_stack)
    api_stack.publish(area_state("POI009", 0.8, "attention", seq=2))
    api_stack.publish(area_state("POI009", 0.91, "attention", seq=3))
    wait_for(lambda: _failures(api_stack) >= before + 2, 30, "failed pushes to be counted")
    r = httpx.get(f"{api_stack.base}/api/v1/opendata/crowdflow", params={"area": "POI009"},
                  timeout=10)  # fmt: skip
    assert r.status_code == 200  # the API did not wait on the broker
    assert 9100 in {e["peopleCount"] for e in r.json()}

    broker.start()
    wait_for(lambda: {_people(broker, "v2"), _people(broker, "ld")} == {9100}, 30,
             "the newest state at the broker once it is back")  # fmt: skip
    for flavour in ("v2", "ld"):  # the state superseded during the outage was never sent
        assert 8000 not in {e["peopleCount"] for e in broker.entities(flavour, FLOW)}
