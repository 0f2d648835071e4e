from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from citypulse.domain.korea_time import KST
from sensors.adapters import (
    AreaNameIndex,
    Reject,
    iter_five_minute_log,
    iter_hourly_log,
    normalise_area_name,
    split_rejects,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("광화문·덕수궁", "광화문 · 덕수궁"),
        ("홍대입구역(2호선)", "홍대입구역 (2호선)"),
        ("DDP(동대문디자인플라자)", "ddp (동대문디자인플라자)"),
        ("강남 MICE 관광특구", "강남MICE관광특구"),
    ],
)
def test_normalised_names_agree(a: str, b: str) -> None:
    assert normalise_area_name(a) == normalise_area_name(b)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("광화문·덕수궁", "POI009"),  # exact
        ("광화문 ·덕수궁", "POI009"),  # normalised
        ("홍대입구역 (2호선)", "POI055"),
        ("잠실롯데타워·석촌호수", "POI120"),  # alias of 잠실롯데타워 일대
        ("시청광장", "POI099"),  # alias of 서울광장
        ("숭례문", None),  # on the 122 list but without a polygon in the registry
        ("", None),
        ("인사동·익선동", None),  # split into two areas since: not guessed
    ],
)
def test_area_name_index(name: str, code: str | None) -> None:
    assert AreaNameIndex().code_for(name) == code


def test_hourly_excerpt(sensor_fixtures: Path) -> None:
    text = (sensor_fixtures / "hourly_log_excerpt.csv").read_text(encoding="utf-8-sig")
    events, rejects = split_rejects(iter_hourly_log(text, source_file="excerpt.csv"))
    assert [(e.area_code, e.people_min, e.people_max, e.congestion_level) for e in events] == [
        ("POI009", 28000, 30000, "여유"),
        ("POI009", 52000, 54000, "약간 붐빔"),
        ("POI120", 24000, 26000, "여유"),
    ]
    assert events[0].event_time == datetime(2026, 6, 4, 8, 20, tzinfo=KST)
    assert events[0].event_id == "seoul_hourly_log:POI009:2026-06-04T08:20:00+09:00"
    assert [(r.record, r.field) for r in rejects] == [(4, ""), (5, "API지역명")]
    assert "'숭례문' is not in the registry" in rejects[1].reason


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (
            "2026-06-04 08:00:00,광화문·덕수궁,광화문·덕수궁,혼잡,m,1.0,2.0,2026-06-04 08:20,1.5",
            "혼잡도",
        ),
        (
            "2026-06-04 08:00:00,광화문·덕수궁,광화문·덕수궁,여유,m,x,2.0,2026-06-04 08:20,1.5",
            "최소인구",
        ),
        ("2026-06-04 08:00:00,광화문·덕수궁,광화문·덕수궁,여유,m,1.0,2.0,8:20,1.5", "업데이트시간"),
        (
            "2026-06-04 08:00:00,광화문·덕수궁,광화문·덕수궁,여유,m,3.0,2.0,2026-06-04 08:20,1.5",
            "최대인구",
        ),
    ],
)
def test_hourly_bad_rows_name_the_csv_column(row: str, field: str) -> None:
    header = (
        "수집시간,지역명,API지역명,혼잡도,혼잡도메시지,최소인구,최대인구,업데이트시간,중앙추정인구"
    )
    good = "2026-06-04 09:00:00,광화문·덕수궁,광화문·덕수궁,여유,m,1.0,2.0,2026-06-04 09:20,1.5"
    events, rejects = split_rejects(iter_hourly_log("\n".join([header, row, good])))
    assert [(r.record, r.field) for r in rejects] == [(2, field)]
    assert len(events) == 1 and events[0].event_time.hour == 9


def test_hourly_log_full(seoul_data: Path) -> None:
    path = seoul_data / "citydata_hourly_121" / "seoul_population_log.csv"
    events, rejects = split_rejects(iter_hourly_log(path.read_text(encoding="utf-8-sig")))
    # 18,639 rows = 9 empty replies + 3 x 154 rows of areas without a registry polygon
    # (송현녹지광장, 숭례문, 시의회 앞) + the rest
    assert len(events) == 18639 - 9 - 3 * 154 == 18168
    assert Counter(r.field for r in rejects) == {"": 9, "API지역명": 462}
    assert len({e.event_id for e in events}) == len(events)
    assert len({e.area_code for e in events}) == 121 - 3
    assert all(e.event_time.utcoffset() == KST.utcoffset(None) for e in events)


def test_five_minute_log(seoul_data: Path) -> None:
    folder = seoul_data / "population_5min_113"
    events, rejects = split_rejects(
        iter_five_minute_log(
            (folder / "ppldata.json").read_text(encoding="utf-8"),
            (folder / "places.csv").read_text(encoding="utf-8-sig"),
        )
    )
    doc = json.loads((folder / "ppldata.json").read_text(encoding="utf-8"))
    assert len(doc) == 113
    unmatched = {r.field for r in rejects}
    assert len(unmatched) == 9 and "서울대공원" not in unmatched and "시청광장" not in unmatched
    assert len(events) == sum(len(v) for k, v in doc.items() if k not in unmatched)
    first = events[0]
    assert (first.area_code, first.people_min, first.people_max) == ("POI001", 20000, 22000)
    assert first.event_time == datetime(2023, 7, 17, 12, 10, 31, tzinfo=KST)
    # 2023's places.csv numbers 서울대공원 POI099; today's registry has it as POI100
    park = [e for e in events if e.area_code == "POI100"]
    assert len(park) == len(doc["서울대공원"])
    assert "places.csv: POI022" in next(r.reason for r in rejects if r.field == "남구로역")


@pytest.mark.parametrize(
    ("doc", "reason_part"),
    [
        (
            {"광화문·덕수궁": {"2023-07-17 12:10:31": {"PPL_MIN": "9", "PPL_MAX": "x"}}},
            "bad head-count",
        ),
        (
            {"광화문·덕수궁": {"2023-07-17 12:10:31": {"PPL_MIN": "9", "PPL_MAX": "3"}}},
            "bad head-count",
        ),
        (
            {"광화문·덕수궁": {"2023-07-17 12:10:31": {"PPL_MIN": "9", "PPL_MAX": "inf"}}},
            "bad head-count",
        ),
        ({"광화문·덕수궁": {"17/07/2023": {"PPL_MIN": "1", "PPL_MAX": "3"}}}, "not a KST time"),
        (
            {"어딘가": {"2023-07-17 12:10:31": {"PPL_MIN": "1", "PPL_MAX": "3"}}},
            "not in the registry",
        ),
    ],
)
def test_five_minute_bad_points(doc: dict[str, object], reason_part: str) -> None:
    items = list(iter_five_minute_log(json.dumps(doc)))
    assert len(items) == 1 and isinstance(items[0], Reject)
    assert reason_part in items[0].reason and items[0].record == 1
