"""Operator-set stage thresholds and event-day profiles, read from PostgreSQL.

The dashboard API writes them (`areas.thresholds`, `zones.thresholds`,
`event_day_profiles`); the stream worker and the alert engine reload them here on a
timer, so a saved change takes effect within one reload period. `book_from_rows` is the
pure conversion to a `ThresholdBook`; the reads below it are the I/O edge.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from citypulse.domain.stages import DEFAULT_THRESHOLDS, StageThresholds
from citypulse.domain.thresholds import EventDayProfile, ThresholdBook

log = logging.getLogger(__name__)

Row = Mapping[str, Any]
# Profiles that ended this recently are kept: a late state is resolved at its own time.
EVENT_LOOKBACK = timedelta(hours=1)
_BOUNDS = tuple(f.name for f in fields(StageThresholds))

AREA_SQL = "SELECT code AS area_code, thresholds FROM areas WHERE thresholds IS NOT NULL"
ZONE_SQL = "SELECT area_code, zone_id, thresholds FROM zones WHERE thresholds IS NOT NULL"
EVENT_SQL = (
    "SELECT id, name, starts_at, ends_at, thresholds, area_codes, expected_people "
    "FROM event_day_profiles "
    "WHERE ends_at > %s ORDER BY starts_at, id"
)


def thresholds_from_json(value: object) -> StageThresholds:
    """The four stage bounds of a jsonb column; ValueError if any is missing or invalid."""
    if not isinstance(value, Mapping):
        raise ValueError(f"thresholds must be an object, not {type(value).__name__}")
    missing = [b for b in _BOUNDS if b not in value]
    if missing:
        raise ValueError(f"thresholds lack {', '.join(missing)}")
    bounds = [value[b] for b in _BOUNDS]
    # bool is an int to Python; `true` in the JSON is a typo, not 1/m².
    if any(isinstance(b, bool) or not isinstance(b, int | float) for b in bounds):
        raise ValueError(f"thresholds must be numbers: {bounds}")
    if not all(math.isfinite(b) for b in bounds):
        raise ValueError(f"thresholds must be finite: {bounds}")
    return StageThresholds(*(float(b) for b in bounds))


def _event(row: Row) -> EventDayProfile:
    return EventDayProfile(
        name=str(row["name"]),
        start=row["starts_at"],
        end=row["ends_at"],
        thresholds=thresholds_from_json(row["thresholds"]),
        area_codes=frozenset(row.get("area_codes") or ()),
        expected_people=_expected(row.get("expected_people")),
    )


def _expected(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"expected_people must be a positive number, not {value!r}")
    return float(value)


def book_from_rows(
    areas: Iterable[Row],
    zones: Iterable[Row],
    events: Iterable[Row],
    default: StageThresholds = DEFAULT_THRESHOLDS,
) -> ThresholdBook:
    """A ThresholdBook from area, zone and event-day rows; a malformed row is skipped
    (with a warning) so one bad entry keeps its defaults instead of stopping the rest."""
    per_area: dict[str, StageThresholds] = {}
    per_zone: dict[tuple[str, str], StageThresholds] = {}
    profiles: list[EventDayProfile] = []
    for r in areas:
        if r.get("thresholds") is not None:
            try:
                per_area[r["area_code"]] = thresholds_from_json(r["thresholds"])
            except ValueError as exc:
                log.warning("area %s keeps the default thresholds: %s", r["area_code"], exc)
    for r in zones:
        if r.get("thresholds") is not None:
            try:
                per_zone[(r["area_code"], r["zone_id"])] = thresholds_from_json(r["thresholds"])
            except ValueError as exc:
                log.warning("zone %s/%s thresholds ignored: %s", r["area_code"], r["zone_id"], exc)
    for r in events:
        try:
            profiles.append(_event(r))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("event-day profile %s ignored: %s", r.get("id", r.get("name")), exc)
    return ThresholdBook(default, per_area, per_zone, tuple(profiles))


def read_book(conn: psycopg.Connection[Any], now: datetime) -> ThresholdBook:
    with conn.cursor(row_factory=dict_row) as cur:
        areas = cur.execute(AREA_SQL).fetchall()
        zones = cur.execute(ZONE_SQL).fetchall()
        events = cur.execute(EVENT_SQL, (now - EVENT_LOOKBACK,)).fetchall()
    return book_from_rows(areas, zones, events)


async def read_book_async(conn: psycopg.AsyncConnection[Any], now: datetime) -> ThresholdBook:
    async with conn.cursor(row_factory=dict_row) as cur:
        areas = await (await cur.execute(AREA_SQL)).fetchall()
        zones = await (await cur.execute(ZONE_SQL)).fetchall()
        events = await (await cur.execute(EVENT_SQL, (now - EVENT_LOOKBACK,))).fetchall()
    return book_from_rows(areas, zones, events)


@dataclass
class ThresholdSource:
    """One connection for the stream worker's reload timer (called from a thread).

    A failed read drops the connection and raises: the caller keeps its previous book,
    and the next call connects afresh.
    """

    conninfo: str
    connect_timeout_s: int = 5  # a hung connect must not pile up reloads behind it
    _conn: psycopg.Connection[Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, now: datetime) -> ThresholdBook:
        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(
                        self.conninfo, autocommit=True, connect_timeout=self.connect_timeout_s
                    )
                return read_book(self._conn, now)
            except psycopg.Error:
                self.close()
                raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
