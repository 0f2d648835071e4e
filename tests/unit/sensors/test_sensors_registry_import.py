from __future__ import annotations

from pathlib import Path

import pytest

from sensors.registry import Hotspot, RegistryError, load_hotspots, read_hotspots_csv
from sensors.registry_import import (
    hotspot_rows,
    hotspots_csv_text,
    hotspots_from_official,
    load_official_hotspots,
)


@pytest.fixture(scope="module")
def official(seoul_data: Path) -> list[Hotspot]:
    return load_official_hotspots(seoul_data / "areas")


def test_all_120_official_hotspots_load_with_plausible_areas(official: list[Hotspot]) -> None:
    assert len(official) == 120
    assert len({h.code for h in official}) == 120
    assert all(5_000 < h.area_m2 < 10_000_000 for h in official)
    assert all(h.district for h in official)
    assert all(h.category for h in official) and all(h.name_en for h in official)


@pytest.mark.parametrize(
    ("code", "name", "district", "lat", "lon"),
    [
        ("POI009", "광화문·덕수궁", "중구", 37.57, 126.977),
        ("POI014", "강남역", "강남구", 37.5002, 127.0282),  # SOURCE.txt spot checks
        ("POI055", "홍대입구역(2호선)", "마포구", 37.5561, 126.9233),
        ("POI100", "서울대공원", "경기도 과천시", 37.4284, 127.0186),
        ("POI113", "청와대", "종로구", 37.587, 126.975),  # district filled in
    ],
)
def test_spot_checks(
    official: list[Hotspot], code: str, name: str, district: str, lat: float, lon: float
) -> None:
    h = next(h for h in official if h.code == code)
    assert (h.name_ko, h.district) == (name, district)
    assert h.centroid[1] == pytest.approx(lat, abs=0.01)
    assert h.centroid[0] == pytest.approx(lon, abs=0.01)


def test_import_equals_the_shipped_registry(official: list[Hotspot]) -> None:
    assert official == load_hotspots()
    again = list(read_hotspots_csv(hotspots_csv_text(official).splitlines(), "regenerated"))
    assert again == official


def test_rows_for_the_areas_table(official: list[Hotspot]) -> None:
    rows = hotspot_rows(official)
    assert len(rows) == 120
    row = next(r for r in rows if r["code"] == "POI014")
    assert set(row) == {
        "code",
        "name_ko",
        "name_en",
        "category",
        "district",
        "polygon_geojson",
        "area_m2",
        "walkable_fraction",
        "centroid_lon",
        "centroid_lat",
    }
    assert row["polygon_geojson"]["type"] == "Polygon"
    ring = row["polygon_geojson"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) >= 4
    assert row["walkable_fraction"] == 0.25  # 인구밀집지역
    assert row["district"] == "강남구" and row["area_m2"] > 5_000


def test_mismatched_row_counts_are_refused(seoul_data: Path) -> None:
    folder = seoul_data / "areas"
    list_text = (folder / "서울시 주요 120장소 목록.csv").read_text(encoding="utf-8-sig")
    geo = (folder / "서울시_122개_geodata.csv").read_text(encoding="utf-8-sig")
    districts = (folder / "서울시_122개_hotspot.csv").read_text(encoding="utf-8-sig")
    short_geo = "\n".join(geo.splitlines()[:-1])
    with pytest.raises(RegistryError, match="120 listed areas but 119 polygons"):
        hotspots_from_official(list_text, short_geo, districts)
