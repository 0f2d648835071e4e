from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from citypulse.domain.korea_time import KST
from sensors.adapters import (
    Reject,
    assign_areas,
    decode_csv_bytes,
    iter_sdot_csv,
    read_sensor_positions,
    split_rejects,
)
from sensors.geo import point_in_ring
from sensors.registry import load_hotspots

POS = {"V02Q1940043": (126.99, 37.57), "V02Q1940044": (127.0282, 37.5002)}


def _excerpt(sensor_fixtures: Path) -> str:
    return (sensor_fixtures / "sdot_excerpt.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_encodings_detected_and_values_carried(sensor_fixtures: Path, encoding: str) -> None:
    data = _excerpt(sensor_fixtures).encode(encoding)
    _, detected = decode_csv_bytes(data)
    assert detected == ("cp949" if encoding == "cp949" else "utf-8")
    events, rejects = split_rejects(iter_sdot_csv(data, POS, {"V02Q1940043": None}))
    assert rejects == [] and len(events) == 3
    first = events[0]
    # V02Q1940043,2020.5.1,0,7.9,12.13333333,19.39664,70.7,0,0,...,
    #   2,2,43.86666667,0.011,0.047,1.028333333
    assert first.sensor_id == "V02Q1940043" and first.area_code is None
    assert first.event_time == datetime(2020, 5, 1, 0, tzinfo=KST)
    assert (first.pm25_ugm3, first.pm10_ugm3) == (7.9, 12.13333333)
    assert (first.temperature_c, first.humidity_pct) == (19.39664, 70.7)
    assert first.wind_direction_deg is None and first.wind_speed_ms is None  # 0: no anemometer
    assert first.light_lux == 2.0 and first.uv_index == pytest.approx(0.2)  # raw x10 code
    assert first.noise_db == pytest.approx(43.86666667)
    assert (first.vibration_x_g, first.vibration_y_g, first.vibration_z_g) == (
        0.011,
        0.047,
        1.028333333,
    )
    assert first.partition_key() == "V02Q1940043"
    assert [e.event_time.hour for e in events] == [0, 1, 2]


@pytest.mark.parametrize(
    ("column", "value", "field", "published", "reason_part"),
    [
        (6, "120", "상대습도", True, "outside 0..100"),  # humidity dropped, rest published
        (3, "-4", "초미세먼지", True, "outside 0..1500"),
        (3, "n/a", "초미세먼지", False, "not a number"),
        (0, "UNKNOWN1", "시리얼", False, "no known position"),
        (1, "2020/5/1", "date/hour", False, "invalid literal"),
    ],
)
def test_bad_cells(
    sensor_fixtures: Path, column: int, value: str, field: str, published: bool, reason_part: str
) -> None:
    lines = _excerpt(sensor_fixtures).splitlines()
    cells = lines[1].split(",")
    cells[column] = value
    lines[1] = ",".join(cells)
    events, rejects = split_rejects(iter_sdot_csv("\n".join(lines), POS, {}))
    assert [(r.record, r.field) for r in rejects] == [(2, field)]
    assert reason_part in rejects[0].reason
    assert len(events) == (3 if published else 2)
    if published:
        assert getattr(events[0], "humidity_pct" if field == "상대습도" else "pm25_ugm3") is None


def test_unit_change_in_header_is_refused(sensor_fixtures: Path) -> None:
    text = _excerpt(sensor_fixtures).replace("소음 (dB)", "소음 (dBA)")
    (reject,) = iter_sdot_csv(text, POS, {})
    assert isinstance(reject, Reject)
    assert reject.record == 1 and reject.field == "소음" and "expected 'dB'" in reject.reason


def test_every_sensor_inside_a_hotspot_is_assigned_to_it(seoul_data: Path) -> None:
    """Must-show: against an independent brute force over every polygon, no bbox."""
    hotspots = load_hotspots()
    positions = read_sensor_positions(
        (seoul_data / "sdot_locations" / "sensor_longitude_latitude.csv").read_text(
            encoding="utf-8-sig"
        )
    )
    assert len(positions) == 851
    assigned = assign_areas(positions, hotspots)
    inside_count = 0
    for serial, (lon, lat) in positions.items():
        containing = {
            h.code
            for h in hotspots
            if point_in_ring(lon, lat, h.polygon.outer)
            and not any(point_in_ring(lon, lat, hole) for hole in h.polygon.holes)
        }
        if containing:
            inside_count += 1
            assert assigned[serial] in containing, serial
        else:
            assert assigned[serial] is None, serial
    assert inside_count == sum(1 for c in assigned.values() if c) == 88


def test_full_day_file(seoul_data: Path) -> None:
    positions = read_sensor_positions(
        (seoul_data / "sdot_locations" / "sensor_longitude_latitude.csv").read_text(
            encoding="utf-8-sig"
        )
    )
    areas = assign_areas(positions, load_hotspots())
    data = (seoul_data / "sdot_hourly" / "sdot_20200507.csv").read_bytes()
    assert decode_csv_bytes(data)[1] == "cp949"
    events, rejects = split_rejects(iter_sdot_csv(data, positions, areas))
    assert len(events) == 845 * 24 and rejects == []
    in_area = [e for e in events if e.area_code]
    assert len({e.sensor_id for e in in_area}) == sum(
        1 for s in {e.sensor_id for e in events} if areas.get(s)
    )
    assert all(e.partition_key() == e.area_code for e in in_area)
    assert max(e.uv_index or 0 for e in events) == pytest.approx(10.87666667)
    assert len({e.event_id for e in events}) == len(events)
