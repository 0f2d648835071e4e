"""The area registry: Seoul's official hotspots with polygons, districts and walkable area.

Loaded from the shipped `sensors/data/hotspots.csv` by default so the stack runs without
`../shared`; `citypulse areas import` reloads it from the official files into the database.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from sensors.geo import Polygon, WktError, parse_wkt_polygon

# Share of a hotspot polygon people can stand or walk on. The polygons bound the area
# from above (buildings, roads, water inside); these per-category defaults are
# deliberately conservative and each area can be overridden in the database.
DEFAULT_WALKABLE_FRACTION: dict[str, float] = {
    "관광특구": 0.30,
    "고궁·문화유산": 0.45,
    "인구밀집지역": 0.25,
    "발달상권": 0.30,
    "공원": 0.50,
}
FALLBACK_WALKABLE_FRACTION = 0.30

# Former names and codes of areas (renamed, renumbered, split, dropped) live in
# `sensors/data/former_names.csv`, read by `sensors.former_names`.


class RegistryError(ValueError):
    """A registry row that cannot be used; carries file and line."""


@dataclass(frozen=True)
class Hotspot:
    code: str
    name_ko: str
    name_en: str
    category: str
    district: str
    polygon: Polygon
    area_m2: float
    walkable_fraction: float

    @property
    def walkable_m2(self) -> float:
        return self.area_m2 * self.walkable_fraction

    @property
    def centroid(self) -> tuple[float, float]:
        return self.polygon.centroid()


def _hotspot_from_row(row: dict[str, str], where: str) -> Hotspot:
    try:
        code = row["AREA_CD"].strip()
        polygon = parse_wkt_polygon(row["polygon_wkt_wgs84"])
    except (KeyError, WktError) as exc:
        raise RegistryError(f"{where}: {exc}") from None
    area = polygon.area_m2()
    if area <= 0:
        raise RegistryError(f"{where}: polygon of {code} has no area")
    category = row.get("CATEGORY", "").strip()
    return Hotspot(
        code=code,
        name_ko=row.get("AREA_NM", "").strip(),
        name_en=row.get("ENG_NM", "").strip(),
        category=category,
        district=row.get("AREA_GU", "").strip(),
        polygon=polygon,
        area_m2=area,
        walkable_fraction=DEFAULT_WALKABLE_FRACTION.get(category, FALLBACK_WALKABLE_FRACTION),
    )


def read_hotspots_csv(lines: Iterable[str], name: str) -> Iterator[Hotspot]:
    reader = csv.DictReader(lines)
    for lineno, row in enumerate(reader, start=2):
        if not (row.get("AREA_CD") or "").strip():
            continue
        yield _hotspot_from_row(row, f"{name}:{lineno}")


def load_hotspots(path: Path | None = None) -> list[Hotspot]:
    """All hotspots of a registry CSV (the shipped copy when no path is given)."""
    if path is None:
        return list(_shipped_hotspots())
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(read_hotspots_csv(f, str(path)))


@lru_cache(maxsize=1)
def _shipped_hotspots() -> tuple[Hotspot, ...]:
    text = resources.files("sensors.data").joinpath("hotspots.csv").read_text(encoding="utf-8")
    return tuple(read_hotspots_csv(text.splitlines(), "sensors/data/hotspots.csv"))


def hotspots_by_code(hotspots: Iterable[Hotspot] | None = None) -> dict[str, Hotspot]:
    return {h.code: h for h in (hotspots if hotspots is not None else _shipped_hotspots())}


def locate(lon: float, lat: float, hotspots: Iterable[Hotspot]) -> Hotspot | None:
    """The first hotspot whose polygon contains the point (bbox test first, it is cheap)."""
    for h in hotspots:
        x0, y0, x1, y1 = h.polygon.bbox()
        if x0 <= lon <= x1 and y0 <= lat <= y1 and h.polygon.contains(lon, lat):
            return h
    return None


def locate_all(lon: float, lat: float, hotspots: Iterable[Hotspot]) -> list[Hotspot]:
    """Every hotspot whose polygon contains the point (hotspots overlap, e.g. a market
    inside a tourist zone), smallest first so the most specific area leads."""
    found = []
    for h in hotspots:
        x0, y0, x1, y1 = h.polygon.bbox()
        if x0 <= lon <= x1 and y0 <= lat <= y1 and h.polygon.contains(lon, lat):
            found.append(h)
    return sorted(found, key=lambda h: (h.area_m2, h.code))


@dataclass(frozen=True)
class Zone:
    """A counted zone inside an area (an alley, a station exit): its own walkable m²."""

    zone_id: str
    area_code: str
    walkable_m2: float


def read_zones_csv(lines: Iterable[str]) -> dict[str, Zone]:
    """zone_id,area_code,walkable_m2 rows (the operator's zone list) -> zone_id -> Zone."""
    zones: dict[str, Zone] = {}
    for lineno, row in enumerate(csv.DictReader(lines), start=2):
        try:
            zone = Zone(row["zone_id"].strip(), row["area_code"].strip(), float(row["walkable_m2"]))
        except (KeyError, AttributeError, ValueError) as exc:
            raise RegistryError(f"zones:{lineno}: {exc}") from None
        if zone.walkable_m2 <= 0:
            raise RegistryError(f"zones:{lineno}: walkable_m2 must be > 0")
        zones[zone.zone_id] = zone
    return zones
