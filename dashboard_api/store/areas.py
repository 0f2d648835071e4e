"""The area registry as the dashboard reads it: areas with polygons, their zones."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from sensors.registry import Hotspot, load_hotspots

_AREA_COLUMNS = (
    "code, name_ko, name_en, category, district, polygon, area_m2, walkable_fraction, "
    "centroid_lon, centroid_lat, thresholds"
)


def _from_registry(h: Hotspot) -> dict[str, Any]:
    lon, lat = h.centroid
    return {
        "code": h.code,
        "name_ko": h.name_ko,
        "name_en": h.name_en,
        "category": h.category,
        "district": h.district,
        "polygon": h.polygon.to_geojson(),
        "area_m2": h.area_m2,
        "walkable_fraction": h.walkable_fraction,
        "centroid_lon": lon,
        "centroid_lat": lat,
        "thresholds": None,
    }


async def list_areas(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Areas from the database; the shipped registry when none were imported yet."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_AREA_COLUMNS} FROM areas ORDER BY code")  # noqa: S608
        rows = await cur.fetchall()
    return rows or [_from_registry(h) for h in load_hotspots()]


async def list_zones(conn: AsyncConnection[Any], area_code: str) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT zone_id, name, walkable_m2, thresholds FROM zones "
            "WHERE area_code = %s ORDER BY zone_id",
            (area_code,),
        )
        return await cur.fetchall()


async def set_area_thresholds(
    conn: AsyncConnection[Any], area_code: str, thresholds: str | None
) -> bool:
    cur = await conn.execute(
        "UPDATE areas SET thresholds = %s, updated_at = now() WHERE code = %s",
        (thresholds, area_code),
    )
    return cur.rowcount == 1


async def set_zone_thresholds(
    conn: AsyncConnection[Any], area_code: str, zone_id: str, thresholds: str | None
) -> bool:
    cur = await conn.execute(
        "UPDATE zones SET thresholds = %s WHERE area_code = %s AND zone_id = %s",
        (thresholds, area_code, zone_id),
    )
    return cur.rowcount == 1


async def threshold_overrides(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT code AS area_code, NULL::text AS zone_id, thresholds FROM areas "
            "WHERE thresholds IS NOT NULL UNION ALL "
            "SELECT area_code, zone_id, thresholds FROM zones WHERE thresholds IS NOT NULL "
            "ORDER BY 1, 2 NULLS FIRST"
        )
        return await cur.fetchall()
