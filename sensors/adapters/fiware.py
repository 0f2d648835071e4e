"""FIWARE `CrowdFlowObserved` entities (NGSI v2 / NGSI-LD, normalized / key-values) to
`ZoneCount`s.

Accepted documents: one entity, a list of entities (a query result) or a notification
({"data": [...]}). Each attribute is read the same way whatever the format: a v2
{"type", "value"}, an LD Property {"value"} (DateTime as {"@type", "@value"}), an LD
Relationship {"object"}, or a plain key-values value.

- zone: `refRoadSegment`, else the entity id; the `urn:ngsi-ld:` prefix is dropped.
- time: end of `dateObserved` (an instant or an ISO interval 'a/b'), else `dateObservedTo`,
  else `dateObservedFrom`; a time without offset is UTC, as the data model says.
- walkable m²: the entity's `walkableArea` (not in the data model; our extension), else
  the zone registry. Area: the zone registry, else the hotspot containing `location`.
"""

from __future__ import annotations

import json
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
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _observed_at(entity: Mapping[str, Any]) -> datetime:
    for name in ("dateObserved", "dateObservedTo", "dateObservedFrom"):
        value = _attr(entity, name)
        if isinstance(value, str) and value.strip():
            return _parse_time(value)
    raise ValueError("no dateObserved, dateObservedTo or dateObservedFrom")


def _positions(coords: object) -> Iterator[tuple[float, float]]:
    """Every [lon, lat] pair in GeoJSON coordinates, whatever their nesting."""
    if (
        isinstance(coords, list)
        and len(coords) >= 2
        and all(isinstance(c, int | float) for c in coords[:2])
    ):
        yield (float(coords[0]), float(coords[1]))
    elif isinstance(coords, list):
        for part in coords:
            yield from _positions(part)


def _location_point(entity: Mapping[str, Any]) -> tuple[float, float] | None:
    """A representative (lon, lat): the point, or the vertex mean of a line or polygon."""
    geo = _attr(entity, "location")
    if not isinstance(geo, Mapping):
        return None
    pts = list(_positions(geo.get("coordinates")))
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def entities_of(doc: object) -> list[object]:
    """The entities of one document: a single entity, a list, or a notification's data."""
    if isinstance(doc, list):
        return list(doc)
    if isinstance(doc, Mapping) and isinstance(doc.get("data"), list) and "id" not in doc:
        return list(doc["data"])
    return [doc]


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
    if area_code is None and (point := _location_point(entity)) is not None:
        inside = locate_all(point[0], point[1], hotspots)
        area_code = inside[0].code if inside else None
    if area_code is None:
        return reject("refRoadSegment", f"zone {zone_id!r} is in no registry zone and no hotspot")
    walkable = _attr(entity, "walkableArea")
    if walkable is None and zone is not None:
        walkable = zone.walkable_m2
    if not isinstance(walkable, int | float) or isinstance(walkable, bool) or walkable <= 0:
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
