"""The `seoul_forecasts` table: Seoul's own latest forecast per area (citydata FCST_PPLTN).

The one module holding the table's SQL. The stream worker upserts the newest forecast of
each area in its batch transaction (streams/sink.py); the dashboard reads it with an
area's detail. Points are stored as the event schema validated them (sensors/events.py):
time order, counts bounded, within a day of the reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class SeoulForecastPoint:
    time: datetime
    people_min: int
    people_max: int
    congestion_level: str | None  # Seoul's comfort label for that hour, when given


@dataclass(frozen=True)
class SeoulForecast:
    area_code: str
    issued_at: datetime  # the event time of the reading that carried it
    source: str
    points: tuple[SeoulForecastPoint, ...]


# Newest wins: a redelivered or late reading never replaces a newer forecast.
_UPSERT = """
INSERT INTO seoul_forecasts AS f (area_code, issued_at, source, points, stored_at)
VALUES (%s, %s, %s, %s, now())
ON CONFLICT (area_code) DO UPDATE SET
    issued_at = EXCLUDED.issued_at, source = EXCLUDED.source, points = EXCLUDED.points,
    stored_at = now()
WHERE f.issued_at <= EXCLUDED.issued_at
"""


def _points_json(points: Sequence[SeoulForecastPoint]) -> list[dict[str, Any]]:
    return [
        {
            "time": p.time.isoformat(),
            "people_min": p.people_min,
            "people_max": p.people_max,
            "congestion_level": p.congestion_level,
        }
        for p in points
    ]


def upsert_newest(cur: psycopg.Cursor[Any], forecasts: Sequence[SeoulForecast]) -> None:
    """Store each area's forecast unless a newer one is stored; in the caller's transaction."""
    if not forecasts:
        return
    cur.executemany(
        _UPSERT,
        [
            (f.area_code, f.issued_at, f.source, Jsonb(_points_json(f.points)))
            for f in sorted(forecasts, key=lambda f: f.area_code)  # one lock order
        ],
    )


async def latest(conn: AsyncConnection[Any], area_code: str) -> dict[str, Any] | None:
    """The stored forecast of `area_code` as the API answers it, or None."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT issued_at, source, points FROM seoul_forecasts WHERE area_code = %s",
            (area_code,),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    return {"issued_at": row["issued_at"], "source": row["source"], "points": row["points"]}
