from __future__ import annotations

import csv
import io
from datetime import datetime

from citypulse.domain.korea_time import KST
from dashboard_api.opendata.export import COLUMNS, history_csv


def test_csv_cells() -> None:
    row = {"bucket": datetime(2026, 3, 19, 9, 0, tzinfo=KST), "source": "telecom",
           "samples": 3, "people_avg": 1 / 3, "people_min": None, "people_max": float("inf"),
           "people_last": 2.0, "walkable_m2": 10_000.0, "phone": "+821055512347"}  # fmt: skip
    text = history_csv("POI009", "exit-3", [row])
    (out,) = csv.DictReader(io.StringIO(text))
    assert tuple(out) == COLUMNS  # only the export's columns, whatever the row carries
    assert out["bucket"] == "2026-03-19T00:00:00+00:00"
    assert float(out["people_avg"]) == 1 / 3  # full precision
    assert (out["people_min"], out["people_max"]) == ("", "")
    assert (out["area_code"], out["zone_id"]) == ("POI009", "exit-3")
    assert "+8210" not in text
