"""The record as CSV: one row per entry, for a spreadsheet. Pure.

A cell a spreadsheet would read as a formula (=, +, -, @, or a tab or carriage return
first) is prefixed with an apostrophe: comments, recipient names and SMS bodies come
from people, and a record is opened on an office PC. A byte-order mark first, so Excel
reads the Hangul as UTF-8.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC

from dashboard_api.record.timeline import COLUMNS, Record, entry_row

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def record_csv(record: Record) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for e in record.entries:
        row = entry_row(e)
        writer.writerow([safe_cell(row[c]) for c in COLUMNS])
    return out.getvalue()


def file_name(record: Record, suffix: str) -> str:
    """citypulse_record_A12.pdf, or citypulse_record_POI004_20261202T1100Z.csv."""
    if record.alert_id is not None:
        scope = f"A{record.alert_id}"
    else:
        scope = "-".join(record.areas[:3]) + f"_{record.start.astimezone(UTC):%Y%m%dT%H%M}Z"
    return f"citypulse_record_{scope}.{suffix}"
