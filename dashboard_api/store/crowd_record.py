"""Crowd readings as they were stored, for the record after an incident.

`stored_at` (migration 0018) is when the worker wrote a reading: what CityPulse knew at a
moment is what was stored by then. Rows stored before 0018 have none; their producer's
`ingest_time` stands in and the record says so. One reading per area, zone, source and
minute of storing (the last stored in that minute) keeps a long range readable; every
value is a bound parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

# A reading measured this long before the window may still be stored inside it (late).
_LATE = "interval '1 hour'"
_QUERY = f"""
SELECT * FROM (
  SELECT DISTINCT ON (area_code, zone_id, source, date_trunc('minute', known_at))
         area_code, zone_id, source, origin, event_time, ingest_time, stored_at, known_at,
         people, people_min, people_max, congestion_level, replaced
    FROM (SELECT *, coalesce(stored_at, ingest_time) AS known_at FROM crowd_readings
           WHERE area_code = ANY(%(areas)s) AND zone_id = ANY(%(zones)s)
             AND event_time >= %(start)s - {_LATE} AND event_time < %(end)s) r
   WHERE known_at >= %(start)s AND known_at < %(end)s
   ORDER BY area_code, zone_id, source, date_trunc('minute', known_at), known_at DESC,
            event_time DESC
) last_in_minute ORDER BY known_at, area_code, zone_id, source LIMIT %(limit)s
"""  # noqa: S608 - a constant interval, no input


async def readings_as_stored(
    conn: AsyncConnection[Any],
    area_codes: list[str],
    zones: list[str],
    start: datetime,
    end: datetime,
    limit: int,
) -> list[dict[str, Any]]:
    """Readings stored in [start, end) for these areas and zones ('' = the whole area),
    the last one per source and minute, oldest first, at most `limit`."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _QUERY.encode(),
            {"areas": area_codes, "zones": zones, "start": start, "end": end, "limit": limit},
        )
        return await cur.fetchall()
