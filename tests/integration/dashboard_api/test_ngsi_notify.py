"""Must show (issue 20, 1): FIWARE brokers' notifications POSTed to the API are stored
once each by a running worker; a repeat stores nothing new; a forged or unauthenticated
notification is refused and stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from tests.integration.dashboard_api.conftest import ApiStack
from tests.integration.support import WorkerFactory, wait_for

TOKEN = "ngsi-test-token-0123456789"  # noqa: S105
ZONE = "RoadSegment:it-notify"


@pytest.fixture
def ngsi_api(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> ApiStack:
    monkeypatch.setenv("CITYPULSE_NGSI_NOTIFY_TOKEN", TOKEN)  # the API process inherits it
    stack: ApiStack = request.getfixturevalue("api_stack")
    return stack


def _entity(name: str, when: datetime, count: int) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:CrowdFlowObserved:{name}",
        "type": "CrowdFlowObserved",
        "dateObservedFrom": {"type": "Property", "value": {"@type": "DateTime",
                             "@value": (when - timedelta(minutes=1)).isoformat()}},
        "dateObservedTo": {"type": "Property", "value": {"@type": "DateTime",
                           "@value": when.isoformat()}},
        "peopleCount": {"type": "Property", "value": count},
        "refRoadSegment": {"type": "Relationship", "object": f"urn:ngsi-ld:{ZONE}"},
    }  # fmt: skip


def _v2_entity(name: str, when: datetime, count: int) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:CrowdFlowObserved:{name}",
        "type": "CrowdFlowObserved",
        "dateObserved": {"type": "DateTime", "value": when.isoformat()},
        "peopleCount": {"type": "Number", "value": count},
        "refRoadSegment": {"type": "Relationship", "value": f"urn:ngsi-ld:{ZONE}"},
    }


def _post(stack: ApiStack, flavour: str, doc: object, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(f"{stack.base}/api/v1/ngsi/notify/{flavour}", json=doc, headers=headers,
                      timeout=30)  # fmt: skip


def _stored(db: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return db.execute(
        "SELECT area_code, zone_id, people, event_time FROM crowd_readings "
        "WHERE event_id LIKE %s ORDER BY event_time",
        (f"fiware:{ZONE}:%",),
    ).fetchall()


def test_notifications_are_stored_once_and_forgeries_refused(
    ngsi_api: ApiStack,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    db.execute(
        "INSERT INTO zones (area_code, zone_id, name, walkable_m2) VALUES ('POI003', %s, '', 620)",
        (ZONE,),
    )
    worker = worker_factory()
    now = datetime.now(UTC).replace(microsecond=0)
    t_ld, t_v2, t_forged, t_marker = (now - timedelta(minutes=m) for m in (4, 3, 2, 1))

    ld = {
        "id": "urn:ngsi-ld:Notification:it-1",
        "type": "Notification",
        "subscriptionId": "urn:ngsi-ld:Subscription:crowd",
        "notifiedAt": now.isoformat(),
        "data": [_entity("cam-ld", t_ld, 111)],
    }
    v2 = {"subscriptionId": "5a6c1e7f8d2b4c3a9e0f1a2b", "data": [_v2_entity("cam-v2", t_v2, 222)]}
    r = _post(ngsi_api, "ld", ld)
    assert r.status_code == 200 and r.json()["published"] == 1, r.text
    r = _post(ngsi_api, "v2", v2)
    assert r.status_code == 200 and r.json()["published"] == 1, r.text

    # the same notifications again: nothing new is published
    for flavour, doc in (("ld", ld), ("v2", v2)):
        r = _post(ngsi_api, flavour, doc)
        assert r.status_code == 200 and r.json() == {"published": 0, "repeated": 1,
                                                     "rejected": []}, r.text  # fmt: skip

    forged = {"subscriptionId": "x", "data": [_v2_entity("cam-forged", t_forged, 999)]}
    assert _post(ngsi_api, "v2", forged, token=None).status_code == 401
    assert _post(ngsi_api, "v2", forged, token="guessed").status_code == 403  # noqa: S106
    assert _post(ngsi_api, "ld", {**ld, "id": "urn:x"}, token=TOKEN[:-1]).status_code == 403
    # not a notification of the route's flavour: a clear 400, not a 500
    assert _post(ngsi_api, "ld", v2).status_code == 400

    # a last good notification: once it is stored, everything before it was processed
    marker = {"subscriptionId": "m", "data": [_v2_entity("cam-marker", t_marker, 7)]}
    assert _post(ngsi_api, "v2", marker).json()["published"] == 1
    wait_for(lambda: len(_stored(db)) >= 3, 60, "the notified readings", worker.log_tail)
    assert _stored(db) == [
        ("POI003", ZONE, 111.0, t_ld),
        ("POI003", ZONE, 222.0, t_v2),
        ("POI003", ZONE, 7.0, t_marker),
    ]
