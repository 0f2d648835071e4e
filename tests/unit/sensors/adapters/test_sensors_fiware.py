from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sensors.adapters import Reject, iter_crowd_flow
from sensors.events import ZoneCount
from sensors.registry import Zone, load_hotspots

ZONES = {"RoadSegment:myeongdong-8gil": Zone("RoadSegment:myeongdong-8gil", "POI003", 620.0)}


@pytest.mark.parametrize(
    "name",
    ["v2_normalized.json", "v2_keyvalues.json", "ld_normalized.jsonld", "ld_keyvalues.jsonld"],
)
def test_every_format_gives_the_same_zone_count(sensor_fixtures: Path, name: str) -> None:
    text = (sensor_fixtures / "fiware" / name).read_text(encoding="utf-8")
    (count,) = iter_crowd_flow(text, zones=ZONES, source_file=name)
    assert isinstance(count, ZoneCount), count
    assert count.area_code == "POI003"
    assert count.zone_id == "RoadSegment:myeongdong-8gil"
    assert count.counter_id == "CrowdFlowObserved:seoul-myeongdong-cam-07"
    assert count.count == 412 and count.walkable_m2 == 620.0
    assert count.event_time == datetime(2026, 3, 20, 14, 25, tzinfo=UTC)
    assert count.event_id == "fiware:RoadSegment:myeongdong-8gil:2026-03-20T14:25:00+00:00"


def test_notification_without_zone_registry(sensor_fixtures: Path) -> None:
    text = (sensor_fixtures / "fiware" / "v2_notification.json").read_text(encoding="utf-8")
    items = list(iter_crowd_flow(text, zones={}, hotspots=load_hotspots(), source_file="n.json"))
    good, bad_count, wrong_type = items
    assert isinstance(good, ZoneCount)
    # no refRoadSegment: the zone is the counter; area from its location (강남역),
    # walkable m² from walkableArea
    assert (good.zone_id, good.area_code, good.count, good.walkable_m2) == (
        "CrowdFlowObserved:seoul-gangnam-exit11",
        "POI014",
        95,
        180.0,
    )
    assert good.event_time == datetime(2026, 3, 20, 14, 30, tzinfo=UTC)
    assert isinstance(bad_count, Reject) and (bad_count.record, bad_count.field) == (
        2,
        "peopleCount",
    )
    assert isinstance(wrong_type, Reject) and (wrong_type.record, wrong_type.field) == (3, "type")


_BASE = {
    "id": "urn:ngsi-ld:CrowdFlowObserved:c1",
    "type": "CrowdFlowObserved",
    "dateObserved": "2026-03-20T14:25:00",
    "peopleCount": 10,
    "refRoadSegment": "urn:ngsi-ld:RoadSegment:myeongdong-8gil",
}


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        ({"peopleCount": 1.5}, "peopleCount", "not a head count"),
        ({"peopleCount": True}, "peopleCount", "not a head count"),
        ({"peopleCount": None}, "peopleCount", "not a head count"),
        ({"dateObserved": None}, "dateObserved", "no dateObserved"),
        ({"dateObserved": "yesterday"}, "dateObserved", "Invalid isoformat"),
        (
            {"refRoadSegment": "urn:ngsi-ld:RoadSegment:nowhere"},
            "refRoadSegment",
            "no registry zone",
        ),
        ({"id": None}, "id", "missing"),
        ({"type": "TrafficFlowObserved"}, "type", "not a CrowdFlowObserved"),
    ],
)
def test_bad_entities(change: dict[str, object], field: str, reason_part: str) -> None:
    import json

    entity = {**_BASE, **change}
    (item,) = iter_crowd_flow(json.dumps([entity]), zones=ZONES)
    assert isinstance(item, Reject) and item.field == field and reason_part in item.reason


@pytest.mark.parametrize(
    ("date_observed", "expected"),
    [
        ("2026-03-20T14:25:00", datetime(2026, 3, 20, 14, 25, tzinfo=UTC)),  # naive = UTC
        ("2026-03-20T23:25:00+09:00", datetime(2026, 3, 20, 14, 25, tzinfo=UTC)),
        ("2026-03-20T14:20:00Z/2026-03-20T14:25:00Z", datetime(2026, 3, 20, 14, 25, tzinfo=UTC)),
    ],
)
def test_observation_time(date_observed: str, expected: datetime) -> None:
    import json

    (item,) = iter_crowd_flow(json.dumps({**_BASE, "dateObserved": date_observed}), zones=ZONES)
    assert isinstance(item, ZoneCount) and item.event_time == expected


def test_not_json() -> None:
    (item,) = iter_crowd_flow("{", zones=ZONES, source_file="x.json")
    assert isinstance(item, Reject) and item.reason.startswith("not JSON")
