"""The NGSI notification inbox: what is a notification, tokens, repeats, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from dashboard_api.opendata.ngsi_inbox import (
    NotANotification,
    NotificationInbox,
    bearer_of,
    notification_parts,
    token_matches,
)
from sensors.events import ZoneCount
from sensors.publisher import ListSink
from sensors.registry import Zone, load_hotspots

NOW = datetime(2026, 3, 20, 14, 26, tzinfo=UTC)
ZONES = {"RoadSegment:a": Zone("RoadSegment:a", "POI003", 620.0)}


def _entity(count: int = 10, minute: int = 25) -> dict[str, object]:
    return {
        "id": "urn:ngsi-ld:CrowdFlowObserved:cam-1",
        "type": "CrowdFlowObserved",
        "dateObserved": {"type": "DateTime", "value": f"2026-03-20T14:{minute:02d}:00Z"},
        "peopleCount": {"type": "Number", "value": count},
        "refRoadSegment": {"type": "Relationship", "value": "urn:ngsi-ld:RoadSegment:a"},
    }


def _v2(*entities: object, sub: str = "sub-1") -> bytes:
    return json.dumps({"subscriptionId": sub, "data": list(entities)}).encode()


def _ld(*entities: object, nid: str = "urn:ngsi-ld:Notification:1") -> bytes:
    doc = {"id": nid, "type": "Notification", "subscriptionId": "s", "data": list(entities)}
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("presented", "expected", "ok"),
    [("t0ken", "t0ken", True), ("t0ken", "other", False), (None, "t0ken", False),
     ("t0ken", None, False), ("", "", False)],
)  # fmt: skip
def test_token_matches(presented: str | None, expected: str | None, ok: bool) -> None:
    assert token_matches(presented, expected) is ok


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer abc ", "abc"), ("Basic abc", None), ("Bearer ", None),
     (None, None)],
)  # fmt: skip
def test_bearer_of(header: str | None, token: str | None) -> None:
    assert bearer_of(header) == token


@pytest.mark.parametrize(
    ("body", "flavour", "reason"),
    [
        (b"{", "v2", "not JSON"),
        (b"[]", "v2", "not a JSON object"),
        (_v2(), "ld", "type 'Notification'"),
        (json.dumps({"data": []}).encode(), "v2", "'subscriptionId'"),
        (json.dumps({"type": "Notification", "data": []}).encode(), "ld", "'id'"),
        (json.dumps({"subscriptionId": "s", "data": {}}).encode(), "v2", "'data' list"),
        (b"[" * 100_000, "v2", "not JSON"),
    ],
)
def test_what_is_not_a_notification(body: bytes, flavour: str, reason: str) -> None:
    with pytest.raises(NotANotification, match=reason):
        notification_parts(body, flavour)  # type: ignore[arg-type]


def test_a_repeated_notification_publishes_nothing_new() -> None:
    sink = ListSink()
    inbox = NotificationInbox(sink, load_hotspots())
    first = inbox.receive(_ld(_entity(), {"type": "Other"}), "ld", ZONES, NOW)
    again = inbox.receive(_ld(_entity(), {"type": "Other"}), "ld", ZONES, NOW)
    assert (len(first.published), first.repeated, len(first.rejects)) == (1, 0, 1)
    assert (len(again.published), again.repeated, len(again.rejects)) == (0, 1, 1)
    (event,) = sink.events
    assert isinstance(event, ZoneCount) and event.ingest_time == NOW and event.count == 10


def test_a_new_observation_of_the_same_entity_is_published() -> None:
    sink = ListSink()
    inbox = NotificationInbox(sink, load_hotspots())
    inbox.receive(_v2(_entity(minute=25)), "v2", ZONES, NOW)
    inbox.receive(_v2(_entity(minute=26)), "v2", ZONES, NOW)
    assert len(sink.events) == 2


class _BrokenSink(ListSink):
    def flush(self) -> None:
        raise RuntimeError("broker down")


def test_what_failed_to_publish_is_published_on_the_retry() -> None:
    inbox = NotificationInbox(_BrokenSink(), load_hotspots())
    with pytest.raises(RuntimeError):
        inbox.receive(_v2(_entity()), "v2", ZONES, NOW)
    inbox.sink = sink = ListSink()
    result = inbox.receive(_v2(_entity()), "v2", ZONES, NOW)
    assert len(result.published) == 1 and len(sink.events) == 1


def test_memory_is_bounded() -> None:
    inbox = NotificationInbox(ListSink(), load_hotspots(), memory=2)
    for minute in (20, 21, 22):
        inbox.receive(_v2(_entity(minute=minute)), "v2", ZONES, NOW)
    # the oldest key is forgotten: a very late repeat goes to the worker's own memory
    assert len(inbox.receive(_v2(_entity(minute=20)), "v2", ZONES, NOW).published) == 1
    assert inbox.receive(_v2(_entity(minute=22)), "v2", ZONES, NOW).repeated == 1


def test_geojson_ld_notification() -> None:
    feature = {"id": "urn:ngsi-ld:CrowdFlowObserved:cam-1", "type": "Feature",
               "geometry": {"type": "Point", "coordinates": [126.985, 37.563]},
               "properties": {k: v for k, v in _entity().items() if k != "id"}}  # fmt: skip
    doc = {"id": "urn:n:geo", "type": "Notification",
           "data": {"type": "FeatureCollection", "features": [feature]}}  # fmt: skip
    sink = ListSink()
    result = NotificationInbox(sink, load_hotspots()).receive(
        json.dumps(doc).encode(), "ld", ZONES, NOW
    )
    assert len(result.published) == 1 and result.rejects == []
