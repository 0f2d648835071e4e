"""History exports for open-data portals: the rollups of one area (or zone) as CSV.

The rows are exactly the rollup rows the history API reads (`crowd_history`): buckets,
sources, sample counts and head-count statistics per area or zone. There is nothing
personal in them; phone numbers, recipients and operators live in other tables.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

COLUMNS = (
    "area_code",
    "zone_id",
    "bucket",
    "source",
    "samples",
    "people_avg",
    "people_min",
    "people_max",
    "people_last",
    "walkable_m2",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "astimezone"):
        return str(value.astimezone(UTC).isoformat())
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def history_csv(area_code: str, zone_id: str, rows: Iterable[Mapping[str, Any]]) -> str:
    """RFC 4180 CSV with a header; times in UTC ISO 8601, floats at full precision."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        full = {"area_code": area_code, "zone_id": zone_id, **row}
        writer.writerow([_cell(full.get(c)) for c in COLUMNS])
    return out.getvalue()
