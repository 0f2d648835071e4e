"""Hostile documents: whatever JSON arrives, the FIWARE adapter answers with events or
rejects that carry a reason, and never raises."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.adapters import Reject, iter_crowd_flow
from sensors.adapters.fiware import entities_of
from sensors.events import ZoneCount
from sensors.registry import Zone, load_hotspots

ZONES = {"RoadSegment:a": Zone("RoadSegment:a", "POI003", 620.0)}
HOTSPOTS = load_hotspots()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(
        ["2026-03-20T14:25:00Z", "a/b", "/", "2026-13-01", "Property", "Notification", "Feature"]
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "id",
    "type",
    "dateObserved",
    "dateObservedFrom",
    "dateObservedTo",
    "peopleCount",
    "refRoadSegment",
    "walkableArea",
    "location",
]
wrappers = st.sampled_from(["plain", "v2", "ld", "rel", "datetime"])


def _wrap(kind: str, value: object) -> object:
    return {
        "plain": value,
        "v2": {"type": "Number", "value": value},
        "ld": {"type": "Property", "value": value},
        "rel": {"type": "Relationship", "object": value},
        "datetime": {"type": "Property", "value": {"@type": "DateTime", "@value": value}},
    }[kind]


good_entity = {
    "id": "urn:ngsi-ld:CrowdFlowObserved:c1",
    "type": "CrowdFlowObserved",
    "dateObserved": "2026-03-20T14:25:00Z",
    "peopleCount": 10,
    "refRoadSegment": "urn:ngsi-ld:RoadSegment:a",
    "location": {"type": "Point", "coordinates": [126.985, 37.563]},
}


def _check(text: str) -> list[ZoneCount | Reject]:
    items = list(iter_crowd_flow(text, zones=ZONES, hotspots=HOTSPOTS, source_file="h.json"))
    if not items:  # only an empty list of entities says nothing
        assert entities_of(json.loads(text)) == []
    for item in items:
        assert isinstance(item, ZoneCount | Reject)
        if isinstance(item, Reject):
            assert item.reason
    return items


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), st.tuples(wrappers, json_values)))
def test_any_value_in_any_field_is_an_event_or_a_reject(
    changes: dict[str, tuple[str, object]],
) -> None:
    entity = {**good_entity, **{k: _wrap(kind, v) for k, (kind, v) in changes.items()}}
    for doc in (
        entity,
        [entity],
        {"subscriptionId": "s", "data": [entity]},
        {"id": "n", "type": "Notification", "data": [entity]},
        {"type": "Feature", "id": entity.get("id"), "properties": entity},
    ):
        _check(json.dumps(doc))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_document_is_an_event_or_a_reject(doc: object) -> None:
    _check(json.dumps(doc))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_rejected_or_read(raw: bytes) -> None:
    _check(raw)  # type: ignore[arg-type]


def test_nesting_past_the_parser_stack_is_a_reject() -> None:
    (item,) = _check("[" * 100_000)
    assert isinstance(item, Reject) and item.reason.startswith("not JSON")
