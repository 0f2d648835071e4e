"""History exports for open-data portals: the rollups of one area (or zone) as CSV or
Parquet. One set of records (`export_records`), two encoders.

The rows are exactly the rollup rows the history API reads (`crowd_history`): buckets,
sources, sample counts and head-count statistics per area or zone. There is nothing
personal in them; phone numbers, recipients and operators live in other tables, and
only the export's own columns are ever written, whatever a row carries.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# The export's columns and their Parquet types (nullable: a statistic may be missing).
SCHEMA = pa.schema(
    [
        ("area_code", pa.string()),
        ("zone_id", pa.string()),
        ("bucket", pa.timestamp("us", tz="UTC")),
        ("source", pa.string()),
        ("samples", pa.int64()),
        ("people_avg", pa.float64()),
        ("people_min", pa.float64()),
        ("people_max", pa.float64()),
        ("people_last", pa.float64()),
        ("walkable_m2", pa.float64()),
    ]
)
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"


def _value(value: Any) -> Any:
    """A cell as both encoders want it: times in UTC, non-finite numbers as missing."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, Decimal):  # a numeric column: the export's numbers are doubles
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def export_records(
    area_code: str, zone_id: str, rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The rollup rows as export records: exactly COLUMNS, in order."""
    out = []
    for row in rows:
        full = {**row, "area_code": area_code, "zone_id": zone_id}
        out.append({c: _value(full.get(c)) for c in COLUMNS})
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # full precision
    return str(value)


def history_csv(records: Iterable[Mapping[str, Any]]) -> str:
    """RFC 4180 CSV with a header; times in UTC ISO 8601, floats at full precision."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([_cell(record[c]) for c in COLUMNS])
    return out.getvalue()


def history_parquet(records: Iterable[Mapping[str, Any]]) -> bytes:
    """One Parquet file (zstd) with SCHEMA's types: times as UTC microseconds."""
    table = pa.Table.from_pylist(list(records), schema=SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
