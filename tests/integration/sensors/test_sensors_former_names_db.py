"""The former-names table reaches the database with the area registry."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from citypulse.cli.stack import import_areas
from citypulse.config import StackSettings
from sensors.former_names import former_name_rows, load_former_names


def test_areas_import_stores_every_former_name_and_is_repeatable(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    import_areas(isolated)
    import_areas(isolated)
    with db.cursor(row_factory=dict_row) as cur:
        rows = cur.execute("SELECT * FROM area_former_names ORDER BY former_name").fetchall()
    assert rows == sorted(former_name_rows(), key=lambda r: str(r["former_name"]))
    assert len(rows) == len(load_former_names())
    mapped = {r["former_name"]: r["area_code"] for r in rows if r["area_code"]}
    assert mapped["쌍문동 맛집거리"] == "POI070"
    known = {str(c) for (c,) in db.execute("SELECT code FROM areas").fetchall()}
    assert set(mapped.values()) <= known  # every mapping names an imported area
