"""The official Smart Data Models CrowdFlowObserved examples (2019-2025), every
representation, against the FIWARE adapter and the worker's duplicate detection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sensors.adapters import iter_crowd_flow
from sensors.events import ZoneCount, encode_event
from sensors.registry import Zone, load_hotspots
from streams.batch import BatchProcessor, RawRecord, ValidationPolicy

ZONE = "CrowdFlowObserved:Valladolid_1"  # the examples carry no refRoadSegment
ZONES = {ZONE: Zone(ZONE, "POI003", 500.0)}
EXAMPLES = [
    "2019-example.json",
    "2019-example-normalized.json",
    "2021-example-geojsonfeature.json",
    "2025-example.json",
    "2025-example.jsonld",
    "2025-example-normalized.json",
    "2025-example-normalized.jsonld",
]
END_OF_INTERVAL = datetime(2018, 8, 7, 11, 15, tzinfo=UTC)


def _official(fixtures: Path, name: str) -> str:
    return (fixtures / "fiware" / "smart-data-models" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_official_representation_gives_the_end_of_the_interval(
    sensor_fixtures: Path, name: str
) -> None:
    (item,) = iter_crowd_flow(_official(sensor_fixtures, name), zones=ZONES, source_file=name)
    assert isinstance(item, ZoneCount), item
    assert (item.zone_id, item.area_code, item.count, item.walkable_m2) == (
        ZONE,
        "POI003",
        100,
        500.0,
    )
    assert item.event_time == END_OF_INTERVAL
    assert item.event_id == f"fiware:{ZONE}:2018-08-07T11:15:00+00:00"


def test_all_representations_of_one_observation_are_stored_once(sensor_fixtures: Path) -> None:
    counts = [
        item
        for name in EXAMPLES
        for item in iter_crowd_flow(_official(sensor_fixtures, name), zones=ZONES)
    ]
    assert all(isinstance(c, ZoneCount) for c in counts)
    records = [
        RawRecord("city-events", 0, offset, b"POI003", encode_event(c))  # type: ignore[arg-type]
        for offset, c in enumerate(counts)
    ]
    hotspots = {h.code: h for h in load_hotspots()}
    policy = ValidationPolicy(max_age=timedelta(days=365 * 20))
    result = BatchProcessor(hotspots, policy).process(records, {}, END_OF_INTERVAL)
    assert len(result.readings) == 1
    assert [d.reason for d in result.dead] == ["duplicate"] * (len(EXAMPLES) - 1)


def test_feature_collection_of_features(sensor_fixtures: Path) -> None:
    feature = json.loads(_official(sensor_fixtures, "2021-example-geojsonfeature.json"))
    other = json.loads(json.dumps(feature))
    other["properties"]["peopleCount"]["value"] = -1
    doc = {"type": "FeatureCollection", "features": [feature, other]}
    good, bad = iter_crowd_flow(json.dumps(doc), zones=ZONES)
    assert isinstance(good, ZoneCount) and good.event_time == END_OF_INTERVAL
    assert not isinstance(bad, ZoneCount) and (bad.record, bad.field) == (2, "peopleCount")


def test_geojson_feature_with_plain_geometry_places_the_entity_by_its_geometry() -> None:
    # A broker's application/geo+json answer: plain GeoJSON geometry, no location attribute.
    feature = {
        "id": "urn:ngsi-ld:CrowdFlowObserved:gangnam-exit11",
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [127.0276, 37.4979]},
        "properties": {
            "type": "CrowdFlowObserved",
            "dateObserved": {"type": "Property", "value": "2026-03-20T14:30:00Z"},
            "peopleCount": {"type": "Property", "value": 95},
        },
    }
    spots = load_hotspots()
    (item,) = iter_crowd_flow(json.dumps(feature), zones={}, hotspots=spots)
    assert isinstance(item, ZoneCount), item
    gangnam = next(h for h in spots if h.code == "POI014")
    # no zone registered: the hotspot's own walkable m² stands in
    assert (item.area_code, item.walkable_m2) == ("POI014", gangnam.walkable_m2)


def test_ngsi_ld_notification_is_unwrapped(sensor_fixtures: Path) -> None:
    entity = json.loads(_official(sensor_fixtures, "2025-example-normalized.jsonld"))
    notification = {
        "id": "urn:ngsi-ld:Notification:5fd0fa684eb81930c97005f3",
        "type": "Notification",
        "subscriptionId": "urn:ngsi-ld:Subscription:crowd",
        "notifiedAt": "2018-08-07T11:15:02.000Z",
        "data": [entity, {**entity, "type": "TrafficFlowObserved"}],
    }
    good, wrong = iter_crowd_flow(json.dumps(notification), zones=ZONES)
    assert isinstance(good, ZoneCount) and good.event_time == END_OF_INTERVAL
    assert not isinstance(wrong, ZoneCount) and (wrong.record, wrong.field) == (2, "type")


def test_v2_notification_with_an_id_is_unwrapped(sensor_fixtures: Path) -> None:
    entity = json.loads(_official(sensor_fixtures, "2025-example-normalized.json"))
    doc = {"subscriptionId": "57458eb60962ef754e7c0998", "id": "x", "data": [entity]}
    (good,) = iter_crowd_flow(json.dumps(doc), zones=ZONES)
    assert isinstance(good, ZoneCount)


@pytest.mark.parametrize("data", [None, 7, "x", {"id": "y"}])
def test_notification_whose_data_is_not_a_list_is_one_reject(data: object) -> None:
    doc = {"id": "urn:ngsi-ld:Notification:1", "type": "Notification", "data": data}
    (item,) = iter_crowd_flow(json.dumps(doc), zones=ZONES)
    assert not isinstance(item, ZoneCount) and item.record == 1


def test_interval_end_wins_over_a_bare_start_instant() -> None:
    entity = {
        "id": "urn:ngsi-ld:CrowdFlowObserved:c",
        "type": "CrowdFlowObserved",
        "dateObserved": "2026-03-20T23:20:00+09:00",
        "dateObservedTo": "2026-03-20T23:25:00+09:00",
        "peopleCount": 3,
    }
    (item,) = iter_crowd_flow(json.dumps(entity), zones={"CrowdFlowObserved:c": ZONES[ZONE]})
    assert isinstance(item, ZoneCount)
    assert item.event_time == datetime(2026, 3, 20, 14, 25, tzinfo=UTC)
    assert item.event_id.endswith("2026-03-20T14:25:00+00:00")  # one spelling, UTC


def test_geojson_notification_carries_a_feature_collection(sensor_fixtures: Path) -> None:
    feature = json.loads(_official(sensor_fixtures, "2021-example-geojsonfeature.json"))
    doc = {
        "id": "urn:ngsi-ld:Notification:geo",
        "type": "Notification",
        "data": {"type": "FeatureCollection", "features": [feature]},
    }
    (item,) = iter_crowd_flow(json.dumps(doc), zones=ZONES)
    assert isinstance(item, ZoneCount) and item.event_time == END_OF_INTERVAL


def test_nested_notifications_are_not_followed() -> None:
    inner: dict[str, object] = {"type": "Notification", "id": "n", "data": []}
    for _ in range(900):
        inner = {"type": "Notification", "id": "n", "data": inner}
    (item,) = iter_crowd_flow(json.dumps(inner), zones=ZONES)
    assert not isinstance(item, ZoneCount) and item.field == "type"
