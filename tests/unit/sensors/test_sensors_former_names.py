from __future__ import annotations

import json
from pathlib import Path

import pytest

from sensors.adapters import AreaNameIndex, iter_five_minute_log, iter_hourly_log, split_rejects
from sensors.former_names import load_former_names, read_former_names_csv
from sensors.registry import RegistryError, hotspots_by_code

# Every former name of the shipped table: (name, today's code or None, relation).
EXPECTED = [
    ("시청광장", "POI099", "renamed"),
    ("잠실롯데타워·석촌호수", "POI120", "api_name"),
    ("서울대공원", "POI100", "renumbered"),
    ("서울숲공원", "POI101", "renumbered"),
    ("홍대입구역 9번 출구", "POI055", "renamed"),
    ("쌍문동 맛집거리", "POI070", "renamed"),
    ("인사동·익선동", None, "split"),
    ("경복궁·서촌마을", None, "split"),
    ("남구로역", None, "dropped"),
    ("북한산우이역", None, "dropped"),
    ("4·19 카페거리", None, "dropped"),
    ("낙산공원·이화마을", None, "dropped"),
    ("방배역 먹자골목", None, "dropped"),
    ("수유리 먹자골목", None, "dropped"),
    ("외대앞", None, "dropped"),
    ("불광천", None, "dropped"),
]


def test_every_former_name_is_in_this_table() -> None:
    assert sorted(f.name for f in load_former_names()) == sorted(n for n, _, _ in EXPECTED)


@pytest.mark.parametrize(("name", "code", "relation"), EXPECTED)
def test_former_name(name: str, code: str | None, relation: str) -> None:
    index = AreaNameIndex()
    assert index.code_for(name) == code
    former = index.former(name)
    assert former is not None
    assert (former.area_code, former.relation) == (code, relation)
    assert former.reason  # each mapping says why
    if code is not None:
        assert code in hotspots_by_code()


@pytest.mark.parametrize(("name", "code", "relation"), EXPECTED)
def test_former_name_matches_with_other_spacing(name: str, code: str | None, relation: str) -> None:
    assert AreaNameIndex().code_for(name.replace("·", " · ") + " ") == code


@pytest.mark.parametrize(
    ("name", "successors"),
    [("인사동·익선동", ("POI078", "POI116")), ("경복궁·서촌마을", ("POI008", "POI067"))],
)
def test_splits_stay_unmapped_because_no_successor_covers_the_other(
    name: str, successors: tuple[str, str]
) -> None:
    # The rule: a split maps to a successor only when its polygon covers the old area.
    # The old area holds both successors; check neither successor polygon holds the other.
    spots = hotspots_by_code()
    a, b = (spots[c] for c in successors)
    assert not a.polygon.contains(*b.centroid)
    assert not b.polygon.contains(*a.centroid)
    assert AreaNameIndex().code_for(name) is None


def test_unknown_reason_says_what_became_of_a_former_area() -> None:
    index = AreaNameIndex()
    assert "split into POI078 인사동 and POI116 익선동" in index.unknown_reason("인사동·익선동")
    assert index.unknown_reason("없는곳") == "area '없는곳' is not in the registry"


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("x,,l,,renamed,r", "needs today's area_code"),
        ("x,,l,POI001,dropped,r", "no successor"),
        ("x,,l,POI1,renamed,r", "not an area code"),
        ("x,P1,l,,dropped,r", "not an area code"),
        ("x,,l,POI001,moved,r", "relation 'moved'"),
        (",,l,POI001,renamed,r", "former_name is empty"),
    ],
)
def test_bad_rows_are_refused_with_their_line(row: str, error: str) -> None:
    header = "former_name,former_code,former_list,area_code,relation,reason"
    with pytest.raises(RegistryError, match=f"t.csv:2: .*{error}"):
        read_former_names_csv([header, row], "t.csv")


def test_a_name_listed_twice_is_refused() -> None:
    lines = [
        "former_name,former_code,former_list,area_code,relation,reason",
        "x,,l,POI001,renamed,r",
        "x,,l,POI002,renamed,r",
    ]
    with pytest.raises(RegistryError, match="listed twice"):
        read_former_names_csv(lines, "t.csv")


def test_every_area_of_the_2023_log_is_mapped_or_explained(seoul_data: Path) -> None:
    folder = seoul_data / "population_5min_113"
    text = (folder / "ppldata.json").read_text(encoding="utf-8")
    index = AreaNameIndex()
    unknown = [n for n in json.loads(text) if index.code_for(n) is None]
    assert unknown and all(index.former(n) is not None for n in unknown)
    _, rejects = split_rejects(iter_five_minute_log(text, names=index))
    assert {r.field for r in rejects} == set(unknown)
    assert all("former area" in r.reason for r in rejects)


def test_logs_map_former_names_and_reject_the_rest_saying_why() -> None:
    doc = {
        "쌍문동 맛집거리": {"2023-07-17 12:10:31": {"PPL_MIN": "2000", "PPL_MAX": "2500"}},
        "인사동·익선동": {
            "2023-07-17 12:10:31": {"PPL_MIN": "9000", "PPL_MAX": "9500"},
            "2023-07-17 12:15:40": {"PPL_MIN": "9000", "PPL_MAX": "9500"},
        },
    }
    events, rejects = split_rejects(
        iter_five_minute_log(json.dumps(doc, ensure_ascii=False), "AREA_NM,AREA_CD\n")
    )
    assert [e.area_code for e in events] == ["POI070"]
    assert [(r.record, r.field) for r in rejects] == [(2, "인사동·익선동")]
    assert "2 points; former area '인사동·익선동' (POI078 in the 2023-07 list" in rejects[0].reason
    assert "split, not mapped" in rejects[0].reason


def test_hourly_log_rejects_a_dropped_area_saying_so() -> None:
    header = (
        "수집시간,지역명,API지역명,혼잡도,혼잡도메시지,최소인구,최대인구,업데이트시간,중앙추정인구"
    )
    row = "2023-07-17 12:00:00,외대앞,외대앞,여유,m,1000.0,1200.0,2023-07-17 11:55,1100.0"
    _, rejects = split_rejects(iter_hourly_log(f"{header}\n{row}\n"))
    assert len(rejects) == 1
    assert rejects[0].reason.startswith("area '외대앞' is not in the registry (former area")
    assert "dropped, not mapped" in rejects[0].reason
