"""S-DoT hourly environment CSV (CP949 or UTF-8) to `EnvironmentReading`s.

Positions come from the official serial -> lat/lon list (the x/y of S-DoT's `model.csv`
are placeholders), and a sensor inside a hotspot polygon is keyed by that area; where
hotspots overlap, the smallest (most specific) one wins.

Units follow the header (checked, so a re-scaled export cannot slip through) except UV:
the header says UVI but values are the raw x10 code of S-DoT's field dictionary (noon
means of ~34 would be impossible UV indices), so they are divided by 10. A value outside
its physical range is dropped to None with a Reject; 0 where the dictionary's range starts
above 0 (wind, noise) means 'not measured' and becomes None silently.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from citypulse.domain.korea_time import KST
from sensors.adapters.reject import Reject, event_id
from sensors.events import EnvironmentReading
from sensors.registry import Hotspot, locate_all

SOURCE = "sdot"
LonLat = tuple[float, float]


@dataclass(frozen=True)
class Measure:
    column: str  # header name without its unit
    unit: str  # unit the header must state
    field: str  # EnvironmentReading field
    low: float
    high: float
    scale: float = 1.0
    zero_is_missing: bool = False


MEASURES: tuple[Measure, ...] = (
    Measure("초미세먼지", "㎍/㎥", "pm25_ugm3", 0, 1500),
    Measure("미세먼지", "㎍/㎥", "pm10_ugm3", 0, 1500),
    Measure("기온", "℃", "temperature_c", -50, 80),
    Measure("상대습도", "%", "humidity_pct", 0, 100),
    Measure("풍향", "°", "wind_direction_deg", 0, 360, zero_is_missing=True),
    Measure("풍속", "m/s", "wind_speed_ms", 0, 100, zero_is_missing=True),
    Measure("조도", "lux", "light_lux", 0, 200_000),
    Measure("자외선", "UVI", "uv_index", 0, 20, scale=0.1),
    Measure("소음", "dB", "noise_db", 0, 140, zero_is_missing=True),
    Measure("진동(x)", "g", "vibration_x_g", -16, 16),
    Measure("진동(y)", "g", "vibration_y_g", -16, 16),
    Measure("진동(z)", "g", "vibration_z_g", -16, 16),
)
_HEADER = re.compile(r"^(?P<name>.*?)\s+\((?P<unit>[^()]*)\)$")


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM) when it decodes, else CP949."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp949"), "cp949"


def read_sensor_positions(text: str) -> dict[str, LonLat]:
    """sensor_longitude_latitude.csv (시리얼,위도,경도) -> serial -> (lon, lat)."""
    positions: dict[str, LonLat] = {}
    for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        try:
            lat, lon = float(row["위도"]), float(row["경도"])
        except (KeyError, TypeError, ValueError):
            continue
        positions[row["시리얼"].strip()] = (lon, lat)
    return positions


def assign_areas(
    positions: Mapping[str, LonLat], hotspots: Iterable[Hotspot]
) -> dict[str, str | None]:
    """Serial -> AREA_CD of the smallest hotspot containing the sensor, or None."""
    spots = list(hotspots)
    result: dict[str, str | None] = {}
    for serial, (lon, lat) in positions.items():
        inside = locate_all(lon, lat, spots)
        result[serial] = inside[0].code if inside else None
    return result


def _columns(header: list[str]) -> dict[str, tuple[int, str]]:
    cols: dict[str, tuple[int, str]] = {}
    for i, raw in enumerate(header):
        m = _HEADER.match(raw.strip())
        name, unit = (m["name"], m["unit"]) if m else (raw.strip(), "")
        cols.setdefault(name, (i, unit))
    return cols


def _hour_start(date_text: str, hour_text: str) -> datetime:
    y, mo, d = (int(p) for p in date_text.strip().split("."))
    return datetime(y, mo, d, int(hour_text), tzinfo=KST)


def iter_sdot_csv(
    data: bytes | str,
    positions: Mapping[str, LonLat],
    areas: Mapping[str, str | None],
    *,
    source_file: str = "sdot.csv",
    source: str = SOURCE,
    ingest_time: datetime | None = None,
) -> Iterator[EnvironmentReading | Reject]:
    """Hourly mean rows; event_time is the start of the hour (KST) the row labels."""
    text = decode_csv_bytes(data)[0] if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        yield Reject(source_file, 1, "", "empty file")
        return
    cols = _columns(header)
    for need in ("시리얼", "date", "hour"):
        if need not in cols:
            yield Reject(source_file, 1, need, "column missing from header")
            return
    present = []
    for m in MEASURES:
        if m.column not in cols:
            continue
        if cols[m.column][1] != m.unit:
            yield Reject(
                source_file, 1, m.column, f"unit {cols[m.column][1]!r}, expected {m.unit!r}"
            )
            return
        present.append((m, cols[m.column][0]))
    for line, row in enumerate(reader, start=2):
        if not row or not any(c.strip() for c in row):
            continue
        yield from _reading(
            row, line, cols, present, positions, areas, source_file, source, ingest_time
        )


def _reading(
    row: list[str],
    line: int,
    cols: Mapping[str, tuple[int, str]],
    present: list[tuple[Measure, int]],
    positions: Mapping[str, LonLat],
    areas: Mapping[str, str | None],
    source_file: str,
    source: str,
    ingest_time: datetime | None,
) -> Iterator[EnvironmentReading | Reject]:
    if len(row) < len(cols):
        yield Reject(source_file, line, "", f"{len(row)} columns, header has {len(cols)}")
        return
    serial = row[cols["시리얼"][0]].strip()
    if serial not in positions:
        yield Reject(source_file, line, "시리얼", f"sensor {serial!r} has no known position")
        return
    try:
        when = _hour_start(row[cols["date"][0]], row[cols["hour"][0]])
    except ValueError as exc:
        yield Reject(source_file, line, "date/hour", str(exc))
        return
    values: dict[str, Any] = {}
    dropped: list[Reject] = []
    for m, i in present:
        cell = row[i].strip()
        if cell == "":
            continue
        try:
            value = float(cell) * m.scale
        except ValueError:
            yield Reject(source_file, line, m.column, f"not a number: {cell!r}; row not published")
            return
        if value == 0 and m.zero_is_missing:
            continue
        if not m.low <= value <= m.high:
            dropped.append(
                Reject(
                    source_file,
                    line,
                    m.column,
                    f"{value:g} {m.unit} outside {m.low:g}..{m.high:g}: dropped",
                )
            )
            continue
        values[m.field] = value
    try:
        reading = EnvironmentReading(
            event_id=event_id(source, serial, when),
            source=source,
            event_time=when,
            ingest_time=ingest_time or when,
            sensor_id=serial,
            area_code=areas.get(serial),
            **values,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        yield Reject(source_file, line, ".".join(map(str, first["loc"])), first["msg"])
        return
    yield from dropped
    yield reading
