"""The export's records and its two encoders: the same cells in CSV and in Parquet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from citypulse.domain.korea_time import KST
from dashboard_api.opendata.export import (
    COLUMNS,
    export_records,
    history_csv,
    history_parquet,
)

ROW = {"bucket": datetime(2026, 3, 19, 9, 0, tzinfo=KST), "source": "telecom",
       "samples": 3, "people_avg": 1 / 3, "people_min": None, "people_max": float("inf"),
       "people_last": Decimal("2.5"), "walkable_m2": 10_000.0,
       "phone": "+821055512347"}  # fmt: skip


def _records() -> list[dict[str, Any]]:
    return export_records("POI009", "exit-3", [ROW, {**ROW, "source": "zone_counter"}])


def test_records_carry_only_the_export_columns() -> None:
    (first, _) = _records()
    assert tuple(first) == COLUMNS  # whatever the row carries
    assert first["bucket"] == datetime(2026, 3, 19, 0, 0, tzinfo=UTC)
    assert (first["people_min"], first["people_max"]) == (None, None)  # missing, not inf
    assert first["people_last"] == 2.5 and isinstance(first["people_last"], float)


def test_csv_cells() -> None:
    text = history_csv(_records())
    out = list(csv.DictReader(io.StringIO(text)))
    assert tuple(out[0]) == COLUMNS
    assert out[0]["bucket"] == "2026-03-19T00:00:00+00:00"
    assert float(out[0]["people_avg"]) == 1 / 3  # full precision
    assert (out[0]["people_min"], out[0]["people_max"]) == ("", "")
    assert (out[0]["area_code"], out[0]["zone_id"]) == ("POI009", "exit-3")
    assert [r["source"] for r in out] == ["telecom", "zone_counter"]
    assert "+8210" not in text


def test_parquet_reads_back_to_the_same_records() -> None:
    data = history_parquet(_records())
    assert data[:4] == b"PAR1"
    table = pq.read_table(io.BytesIO(data))
    assert tuple(table.column_names) == COLUMNS
    assert table.schema.field("bucket").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("samples").type == pa.int64()
    assert table.to_pylist() == _records()
    assert b"+8210" not in data


def test_empty_exports_keep_their_header_and_schema() -> None:
    assert history_csv([]).splitlines() == [",".join(COLUMNS)]
    table = pq.read_table(io.BytesIO(history_parquet([])))
    assert (table.num_rows, tuple(table.column_names)) == (0, COLUMNS)
