"""FIWARE `CrowdFlowObserved` entities (NGSI v2 / NGSI-LD, normalized / key-values) to
`ZoneCount`s.

Accepted documents: one entity, a list of entities (a query result), an NGSI v2
notification ({"subscriptionId", "data": [...]}), an NGSI-LD notification ({"id",
"type": "Notification", "data": [...]}), a GeoJSON Feature ({"type": "Feature",
"properties": {"type": "CrowdFlowObserved", ...}}, what a broker answers to
`Accept: application/geo+json`) or a FeatureCollection of them. Each attribute is read
the same way whatever the format: a v2 {"type", "value"}, an LD Property {"value"}
(DateTime as {"@type", "@value"}), an LD Relationship {"object"}, or a plain key-values
value.

- zone: `refRoadSegment`, else the entity id; the `urn:ngsi-ld:` prefix is dropped.
- time: the END of the observation interval, so every representation of one observation
  has one event time (and one event id): `dateObservedTo` when present, else the end of
  `dateObserved` (an ISO interval 'a/b', or an instant), else `dateObservedFrom`. The
  official examples since 2023 give `dateObserved` as the bare start instant beside
  `dateObservedTo`; reading `dateObserved` first would count them twice. A time without
  offset is UTC, as the data model says.
- walkable m²: the entity's `walkableArea` (not in the data model; our extension), else
  the zone registry, else the walkable m² of the hotspot containing `location`. Area: the
  zone registry, else the (smallest) hotspot containing `location`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from sensors.adapters.reject import Reject, event_id
from sensors.events import ZoneCount
from sensors.registry import Hotspot, Zone, locate_all

SOURCE = "fiware"
ENTITY_TYPE = "CrowdFlowObserved"
_URN_PREFIX = "urn:ngsi-ld:"


def _attr(entity: Mapping[str, Any], name: str) -> Any:
    raw = entity.get(name)
    if raw is None:  # LD with expanded attribute names
        raw = next(
            (v for k, v in entity.items() if k.endswith((f"/{name}", f"#{name}"))),
            None,
        )
    if isinstance(raw, Mapping):
        if "object" in raw and raw.get("type") == "Relationship":
            return raw["object"]
        if "value" in raw and ("type" in raw or len(raw) == 1):
            raw = raw["value"]
    if isinstance(raw, Mapping) and "@value" in raw:
        return raw["@value"]
    return raw


def _short_id(value: str) -> str:
    return value[len(_URN_PREFIX) :] if value.startswith(_URN_PREFIX) else value


def _parse_time(text: str) -> datetime:
    end = text.split("/")[-1].strip()
    when = datetime.fromisoformat(end.replace("Z", "+00:00"))
    # One instant, one spelling: the event id must not depend on the offset it came in.
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).astimezone(UTC)


def _observed_at(entity: Mapping[str, Any]) -> datetime:
    for name in ("dateObservedTo", "dateObserved", "dateObservedFrom"):
        value = _attr(entity, name)
        if isinstance(value, str) and value.strip():
            return _parse_time(value)
    raise ValueError("no dateObserved, dateObservedTo or dateObservedFrom")


def _positions(coords: object, depth: int = 0) -> Iterator[tuple[float, float]]:
    """Every [lon, lat] pair in GeoJSON coordinates, nested at most as deep as a
    MultiPolygon's (deeper is not GeoJSON and is ignored)."""
    if (
        isinstance(coords, list)
        and len(coords) >= 2
        and all(isinstance(c, int | float) and math.isfinite(c) for c in coords[:2])
    ):
        yield (float(coords[0]), float(coords[1]))
    elif isinstance(coords, list) and depth < 4:
        for part in coords:
            yield from _positions(part, depth + 1)


def _location_point(entity: Mapping[str, Any]) -> tuple[float, float] | None:
    """A representative (lon, lat): the point, or the vertex mean of a line or polygon."""
    geo = _attr(entity, "location")
    if not isinstance(geo, Mapping):
        return None
    pts = list(_positions(geo.get("coordinates")))
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def is_notification(doc: object) -> bool:
    """An NGSI-LD notification (type Notification) or an NGSI v2 one (subscriptionId)."""
    return isinstance(doc, Mapping) and (
        doc.get("type") == "Notification" or ("subscriptionId" in doc and "data" in doc)
    )


def entities_of(doc: object) -> list[object]:
    """The entities of one document: a single entity, a list, a notification's data or a
    FeatureCollection's features (a notification whose data is no list is one bad entity)."""
    if isinstance(doc, list):
        return list(doc)
    if isinstance(doc, Mapping):
        if is_notification(doc) or ("data" in doc and "id" not in doc):
            data = doc.get("data")
            if isinstance(data, list):
                return list(data)
            # a geo+json notification (NGSI-LD `format: geojson`) carries a FeatureCollection
            if not (isinstance(data, Mapping) and data.get("type") == "FeatureCollection"):
                return [data]
            doc = data
        if doc.get("type") == "FeatureCollection":
            features = doc.get("features")
            return list(features) if isinstance(features, list) else [features]
    return [doc]


def _unfeature(entity: Mapping[str, Any]) -> Mapping[str, Any]:
    """A GeoJSON Feature as the entity it represents: id, then its properties, with the
    geometry as `location` when the properties carry none."""
    props = entity.get("properties")
    if not isinstance(props, Mapping):
        return entity
    flat: dict[str, Any] = {"id": entity.get("id"), **props}
    geometry = entity.get("geometry")
    if "location" not in flat and isinstance(geometry, Mapping):
        flat["location"] = geometry
    return flat


def zone_count_from_entity(
    entity: object,
    *,
    zones: Mapping[str, Zone],
    hotspots: Iterable[Hotspot] = (),
    source_file: str = "<ngsi>",
    record: int = 1,
    source: str = SOURCE,
    ingest_time: datetime | None = None,
) -> ZoneCount | Reject:
    def reject(field: str, reason: str) -> Reject:
        return Reject(source_file, record, field, reason)

    if not isinstance(entity, Mapping):
        return reject("", "not an entity object")
    if entity.get("type") == "Feature":
        entity = _unfeature(entity)
    if entity.get("type") not in (
        ENTITY_TYPE,
        f"https://smartdatamodels.org/dataModel.Transportation/{ENTITY_TYPE}",
    ):
        return reject("type", f"not a {ENTITY_TYPE}: {entity.get('type')!r}")
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id:
        return reject("id", "missing")
    segment = _attr(entity, "refRoadSegment")
    zone_id = _short_id(segment if isinstance(segment, str) and segment else entity_id)
    count = _attr(entity, "peopleCount")
    if (
        isinstance(count, bool)
        or not isinstance(count, int | float)
        or not math.isfinite(count)
        or count < 0
        or count != int(count)
    ):
        return reject("peopleCount", f"not a head count: {count!r}")
    try:
        when = _observed_at(entity)
    except ValueError as exc:
        return reject("dateObserved", str(exc))
    zone = zones.get(zone_id)
    area_code = zone.area_code if zone else None
    walkable = _attr(entity, "walkableArea")
    if walkable is None and zone is not None:
        walkable = zone.walkable_m2
    if area_code is None and (point := _location_point(entity)) is not None:
        inside = locate_all(point[0], point[1], hotspots)
        if inside:
            area_code = inside[0].code
            walkable = inside[0].walkable_m2 if walkable is None else walkable
    if area_code is None:
        return reject("refRoadSegment", f"zone {zone_id!r} is in no registry zone and no hotspot")
    if (
        not isinstance(walkable, int | float)
        or isinstance(walkable, bool)
        or not math.isfinite(walkable)
        or walkable <= 0
    ):
        return reject("walkableArea", f"no positive walkable m² for zone {zone_id!r}")
    try:
        return ZoneCount(
            event_id=event_id(source, zone_id, when),
            source=source,
            event_time=when,
            ingest_time=ingest_time or when,
            area_code=area_code,
            zone_id=zone_id,
            counter_id=_short_id(entity_id),
            count=int(count),
            walkable_m2=float(walkable),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        return reject(".".join(map(str, first["loc"])), first["msg"])


def iter_crowd_flow(
    text: str | bytes,
    *,
    zones: Mapping[str, Zone],
    hotspots: Iterable[Hotspot] = (),
    source_file: str = "<ngsi>",
    source: str = SOURCE,
    ingest_time: datetime | None = None,
) -> Iterator[ZoneCount | Reject]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Reject(source_file, 0, "", f"not JSON: {exc.msg} at line {exc.lineno}")
        return
    except (ValueError, RecursionError) as exc:  # not UTF-8; nested past the parser's stack
        yield Reject(source_file, 0, "", f"not JSON: {type(exc).__name__}")
        return
    spots = list(hotspots)
    for record, entity in enumerate(entities_of(doc), start=1):
        yield zone_count_from_entity(
            entity,
            zones=zones,
            hotspots=spots,
            source_file=source_file,
            record=record,
            source=source,
            ingest_time=ingest_time,
        )
