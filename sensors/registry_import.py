"""Import Seoul's official hotspot files into registry records and `areas` table rows.

Official files (`data/seoul/areas/`):
- `서울시 주요 120장소 목록.csv`: CATEGORY,NO,AREA_CD,AREA_NM,ENG_NM (UTF-8 BOM);
- `서울시_122개_geodata.csv`: one POLYGON WKT per row, in the 120 list's row order;
- `서울시_122개_hotspot.csv`: the 122 list with AREA_GU (자치구, '서울 중구');
- `hotspot_areas_120_joined.csv` (derived, optional): list and polygon already joined,
  used here as a cross-check of the row-order join.
List and polygons are joined by row order (the shapefile has no attribute table), so the
import refuses files whose row counts differ or whose join disagrees with the joined file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sensors.geo import Polygon, parse_wkt_polygon
from sensors.registry import (
    DEFAULT_WALKABLE_FRACTION,
    FALLBACK_WALKABLE_FRACTION,
    Hotspot,
    RegistryError,
)

LIST_120 = "서울시 주요 120장소 목록.csv"
GEODATA = "서울시_122개_geodata.csv"
DISTRICTS_122 = "서울시_122개_hotspot.csv"
JOINED_120 = "hotspot_areas_120_joined.csv"

# Areas the 122 list gives no 자치구 for, with the district their polygon lies in.
DISTRICT_FILL: dict[str, str] = {"POI113": "종로구"}  # 청와대


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return [
        {k: (v or "").strip() for k, v in r.items() if k}
        for r in reader
        if (r.get("AREA_CD") or r.get("geometry") or "").strip()
    ]


def _district(raw: str) -> str:
    """'서울 중구' -> '중구'; places outside Seoul keep their province ('경기도 과천시')."""
    return raw.removeprefix("서울 ").strip()


def hotspots_from_official(
    list_120: str, geodata: str, districts_122: str, joined_120: str | None = None
) -> list[Hotspot]:
    """Hotspot records from the texts of the official files (see the module doc)."""
    listed = _rows(list_120)
    polygons = [parse_wkt_polygon(r["geometry"]) for r in _rows(geodata)]
    if len(listed) != len(polygons):
        raise RegistryError(f"{len(listed)} listed areas but {len(polygons)} polygons")
    districts = {r["AREA_CD"]: _district(r.get("AREA_GU", "")) for r in _rows(districts_122)}
    joined = {r["AREA_CD"]: r for r in _rows(joined_120)} if joined_120 else {}
    hotspots = []
    for row, polygon in zip(listed, polygons, strict=True):
        code = row["AREA_CD"]
        check = joined.get(code)
        if check is not None and parse_wkt_polygon(check["polygon_wkt_wgs84"]) != polygon:
            raise RegistryError(f"{code}: row-order join disagrees with {JOINED_120}")
        district = districts.get(code) or DISTRICT_FILL.get(code, "")
        category = row.get("CATEGORY", "")
        hotspots.append(
            Hotspot(
                code=code,
                name_ko=row.get("AREA_NM", ""),
                name_en=row.get("ENG_NM", ""),
                category=category,
                district=district,
                polygon=polygon,
                area_m2=polygon.area_m2(),
                walkable_fraction=DEFAULT_WALKABLE_FRACTION.get(
                    category, FALLBACK_WALKABLE_FRACTION
                ),
            )
        )
    return hotspots


def load_official_hotspots(folder: Path) -> list[Hotspot]:
    def read(name: str) -> str:
        return (folder / name).read_text(encoding="utf-8-sig")

    joined = read(JOINED_120) if (folder / JOINED_120).exists() else None
    return hotspots_from_official(read(LIST_120), read(GEODATA), read(DISTRICTS_122), joined)


def hotspot_rows(hotspots: Iterable[Hotspot]) -> list[dict[str, Any]]:
    """Rows for the `areas` table, one per hotspot, keys as the table's columns."""
    rows = []
    for h in hotspots:
        lon, lat = h.centroid
        rows.append(
            {
                "code": h.code,
                "name_ko": h.name_ko,
                "name_en": h.name_en,
                "category": h.category,
                "district": h.district,
                "polygon_geojson": h.polygon.to_geojson(),
                "area_m2": h.area_m2,
                "walkable_fraction": h.walkable_fraction,
                "centroid_lon": lon,
                "centroid_lat": lat,
            }
        )
    return rows


def polygon_wkt(polygon: Polygon) -> str:
    rings = [polygon.outer, *polygon.holes]
    body = ", ".join("(" + ", ".join(f"{x!r} {y!r}" for x, y in r) + ")" for r in rings)
    return f"POLYGON ({body})"


def hotspots_csv_text(hotspots: Iterable[Hotspot]) -> str:
    """The shipped `sensors/data/hotspots.csv` format, to regenerate it from an import."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["AREA_CD", "AREA_NM", "ENG_NM", "CATEGORY", "AREA_GU", "polygon_wkt_wgs84"])
    for h in hotspots:
        writer.writerow(
            [h.code, h.name_ko, h.name_en, h.category, h.district, polygon_wkt(h.polygon)]
        )
    return out.getvalue()
