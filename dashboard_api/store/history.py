"""Crowd history from the 1-minute stats and their rollups.

The table is chosen from a fixed map by resolution and quoted as an identifier; every
value is a bound parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

Resolution = Literal["1m", "15m", "1h", "1d"]
TABLES: dict[str, str] = {
    "1m": "crowd_stats_1m",
    "15m": "crowd_stats_15m",
    "1h": "crowd_stats_1h",
    "1d": "crowd_stats_1d",
}

# samples::bigint: TimescaleDB's continuous aggregates type sum(bigint) as numeric, which
# would reach the client as a string; the stock-PostgreSQL rollup tables are bigint already.
_QUERY = sql.SQL(
    "SELECT bucket, source, samples::bigint AS samples, people_sum / samples AS people_avg, "
    "people_min, people_max, people_last, walkable_m2 FROM {table} "
    "WHERE area_code = %s AND zone_id = %s AND bucket >= %s AND bucket < %s "
    "ORDER BY bucket, source"
)


async def crowd_history(
    conn: AsyncConnection[Any],
    area_code: str,
    zone_id: str,
    resolution: Resolution,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    query = _QUERY.format(table=sql.Identifier(TABLES[resolution]))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, (area_code, zone_id, start, end))
        return await cur.fetchall()
