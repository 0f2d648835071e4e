from __future__ import annotations

import glob
import json
from datetime import datetime
from pathlib import Path

import pytest

from citypulse.domain.korea_time import KST
from sensors.adapters import (
    ParsedLivePopulation,
    Reject,
    SeoulApiError,
    iter_citydata_json,
    iter_citydata_raw_csv,
    iter_citydata_xml,
    parse_citydata_json,
    parse_citydata_xml,
    split_rejects,
)
from sensors.adapters.seoul_citydata import (
    ApiResult,
    api_result_of_json,
    live_population_from_fields,
)


def _kst(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=KST)


@pytest.mark.parametrize(
    ("name", "ppltn_time", "lo", "hi", "male", "age20", "resident", "fcst_first"),
    [
        (
            "gwanghwamun_20260320_235513.xml",
            "2026-03-20 23:25",
            7000,
            7500,
            58.0,
            24.6,
            30.9,
            (6000, 6500),
        ),
        (
            "gwanghwamun_20260321_000025.xml",
            "2026-03-20 23:30",
            6500,
            7000,
            58.1,
            24.3,
            33.2,
            (6000, 6500),
        ),
    ],
)
def test_full_citydata_xml_values_match_the_file(
    seoul_data: Path,
    name: str,
    ppltn_time: str,
    lo: int,
    hi: int,
    male: float,
    age20: float,
    resident: float,
    fcst_first: tuple[int, int],
) -> None:
    text = (seoul_data / "citydata_raw_xml" / name).read_text(encoding="utf-8")
    items = list(parse_citydata_xml(text, source_file=name))
    assert len(items) == 1 and isinstance(items[0], ParsedLivePopulation)
    est, detail = items[0].estimate, items[0].detail
    assert est.area_code == "POI009"
    assert est.event_time == _kst(ppltn_time)
    assert est.event_time.utcoffset().total_seconds() == 9 * 3600  # type: ignore[union-attr]
    assert (est.people_min, est.people_max) == (lo, hi)
    assert est.congestion_level == "여유" and est.replaced is False
    assert est.event_id == f"seoul_citydata:POI009:{_kst(ppltn_time).isoformat()}"
    assert len(est.forecast) == 12
    assert (est.forecast[0].people_min, est.forecast[0].people_max) == fcst_first
    assert est.forecast[0].time == _kst("2026-03-21 00:00")
    assert est.forecast[-1].time == _kst("2026-03-21 11:00")
    assert est.forecast[-1].congestion_level == "약간 붐빔"
    assert (detail.male_pct, dict(detail.age_pct)[20], detail.resident_pct) == (
        male,
        age20,
        resident,
    )
    assert detail.area_name == "광화문·덕수궁" and detail.forecast_published is True


@pytest.mark.parametrize(
    ("cut", "events", "reject_record", "reject_field_tail", "reason_part"),
    [
        (1000, 0, 1, "PPLTN_TIME", "inside this record"),
        (3000, 0, 1, "FCST_PPLTN/FCST_PPLTN", "inside this record"),
        (3600, 1, 0, "ROAD_TRAFFIC_STTS/ROAD_TRAFFIC_STTS", "truncated after 3600 chars"),
        (5000, 1, 0, "XYLIST", "truncated after 5000 chars"),
    ],
)
def test_truncated_xml_keeps_closed_records_and_rejects_the_rest(
    seoul_data: Path,
    cut: int,
    events: int,
    reject_record: int,
    reject_field_tail: str,
    reason_part: str,
) -> None:
    text = (seoul_data / "citydata_raw_xml" / "gwanghwamun_20260320_235513.xml").read_text()
    got, rejects = split_rejects(iter_citydata_xml(text[:cut], source_file="cut.xml"))
    assert len(got) == events
    assert len(rejects) == 1
    assert rejects[0].record == reject_record
    assert rejects[0].field.endswith(reject_field_tail)
    assert reason_part in rejects[0].reason
    if events:
        assert got[0].people_min == 7000 and len(got[0].forecast) == 12


def test_raw_csv_rows_parse_the_complete_live_block(seoul_data: Path) -> None:
    path = seoul_data / "citydata_raw_xml" / "raw_csv" / "seoul_citydata_2026-03-21_00-28-34.csv"
    got, rejects = split_rejects(
        iter_citydata_raw_csv(path.read_text(encoding="utf-8-sig"), source_file=path.name)
    )
    by_area = {e.area_code: e for e in got}
    assert len(got) == 5 and len(rejects) == 5  # each reply cut at 5,000 chars after the live block
    # values as in capstone_5areas_parsed.csv for this file
    assert (by_area["POI009"].people_min, by_area["POI009"].people_max) == (5000, 5500)
    assert (by_area["POI029"].people_min, by_area["POI029"].people_max) == (12000, 14000)
    assert by_area["POI009"].event_time == _kst("2026-03-21 00:00")
    assert by_area["POI009"].forecast[0].time == _kst("2026-03-21 01:00")
    assert all(r.field.startswith("raw_response:SeoulRtd.citydata/CITYDATA/") for r in rejects)
    assert [r.record for r in rejects] == [2, 3, 4, 5, 6]


def test_every_raw_csv_row_yields_one_estimate(seoul_data: Path) -> None:
    files = sorted(glob.glob(str(seoul_data / "citydata_raw_xml" / "raw_csv" / "*.csv")))
    total = 0
    for f in files:
        got, _ = split_rejects(iter_citydata_raw_csv(Path(f).read_text(encoding="utf-8-sig")))
        total += len(got)
    assert total == 5 * len(files) == 2550


def test_json_reply_fixture(sensor_fixtures: Path) -> None:
    text = (sensor_fixtures / "citydata_ppltn_reply.json").read_text(encoding="utf-8")
    (item,) = parse_citydata_json(text)
    assert isinstance(item, ParsedLivePopulation)
    assert item.estimate.area_code == "POI009"
    assert item.estimate.event_time == _kst("2026-03-20 23:25")
    assert [p.people_max for p in item.estimate.forecast] == [6500, 36000]
    assert item.detail.non_resident_pct == 69.1


@pytest.mark.parametrize(
    ("doc", "code", "meaning"),
    [
        (
            {
                "RESULT": {
                    "RESULT.CODE": "INFO-200",
                    "RESULT.MESSAGE": "해당하는 데이터가 없습니다.",
                }
            },
            "INFO-200",
            "no data for this request",
        ),
        (
            {"RESULT": {"CODE": "INFO-100", "MESSAGE": "인증키가 유효하지 않습니다."}},
            "INFO-100",
            "invalid API key",
        ),
        (
            {"RESULT.CODE": "ERROR-500", "RESULT.MESSAGE": "서버 오류입니다."},
            "ERROR-500",
            "server error",
        ),
        (
            {"RESULT": {"RESULT.CODE": "ERROR-336", "RESULT.MESSAGE": "..."}},
            "ERROR-336",
            "at most 1000 rows per request",
        ),
        (
            {"RESULT": {"RESULT.CODE": "ERROR-999", "RESULT.MESSAGE": "?"}},
            "ERROR-999",
            "unknown result code",
        ),
    ],
)
def test_api_errors_are_reported_by_code_and_meaning(
    doc: dict[str, object], code: str, meaning: str
) -> None:
    (reject,) = iter_citydata_json(json.dumps(doc), source_file="reply.json")
    assert isinstance(reject, Reject)
    assert reject.field == "RESULT.CODE"
    assert reject.reason.startswith(f"{code} {meaning}:")
    result = api_result_of_json(doc)
    assert result is not None and result == ApiResult(code, result.message)
    with pytest.raises(SeoulApiError) as err:
        result.raise_for_error()
    assert (err.value.code, err.value.meaning) == (code, meaning)


def test_xml_error_result_is_a_reject() -> None:
    xml = "<RESULT><CODE>INFO-200</CODE><MESSAGE>해당하는 데이터가 없습니다.</MESSAGE></RESULT>"
    (reject,) = iter_citydata_xml(xml, source_file="e.xml")
    assert isinstance(reject, Reject)
    assert reject.reason == "INFO-200 no data for this request: 해당하는 데이터가 없습니다."


_GOOD = {
    "AREA_CD": "POI009",
    "AREA_PPLTN_MIN": "7000",
    "AREA_PPLTN_MAX": "7500",
    "PPLTN_TIME": "2026-03-20 23:25",
    "AREA_CONGEST_LVL": "여유",
    "REPLACE_YN": "N",
}


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"AREA_PPLTN_MIN": "many"}, {"AREA_PPLTN_MIN"}),
        ({"AREA_PPLTN_MIN": None}, {"AREA_PPLTN_MIN"}),
        ({"AREA_PPLTN_MAX": "-5"}, {"AREA_PPLTN_MAX"}),
        ({"PPLTN_TIME": "20.03.2026"}, {"PPLTN_TIME"}),
        ({"AREA_CONGEST_LVL": "혼잡"}, {"AREA_CONGEST_LVL"}),
        ({"REPLACE_YN": "maybe"}, {"REPLACE_YN"}),
        ({"AREA_CD": None}, {"AREA_CD"}),
        ({"AREA_PPLTN_MIN": "8000"}, {"AREA_PPLTN_MAX"}),
        (
            {"FCST_PPLTN": [{"FCST_TIME": "x", "FCST_PPLTN_MIN": "1", "FCST_PPLTN_MAX": "2"}]},
            {"FCST_TIME"},
        ),
        ({"MALE_PPLTN_RATE": "140"}, {"MALE_PPLTN_RATE"}),
        ({"AREA_PPLTN_MIN": "", "PPLTN_TIME": ""}, {"AREA_PPLTN_MIN", "PPLTN_TIME"}),
    ],
)
def test_a_record_with_a_bad_field_is_rejected_whole(
    change: dict[str, object], fields: set[str]
) -> None:
    record = {**_GOOD, **change}
    items = list(iter_citydata_json(json.dumps({"SeoulRtd.citydata_ppltn": [record, _GOOD]})))
    bad = [i for i in items if isinstance(i, Reject)]
    good = [i for i in items if not isinstance(i, Reject)]
    assert {r.field for r in bad} == fields and all(r.record == 1 for r in bad)
    assert len(good) == 1 and good[0].people_min == 7000  # the next record still comes through


@pytest.mark.parametrize(
    ("raw", "label", "replaced"),
    [("매우 붐빔", "붐빔", False), ("붐빔", "붐빔", False), ("약간 붐빔", "약간 붐빔", True)],
)
def test_labels_and_replace_flag(raw: str, label: str, replaced: bool) -> None:
    record = {**_GOOD, "AREA_CONGEST_LVL": raw, "REPLACE_YN": "Y" if replaced else "N"}
    (item,) = parse_citydata_json(json.dumps({"SeoulRtd.citydata_ppltn": [record]}))
    assert isinstance(item, ParsedLivePopulation)
    assert item.estimate.congestion_level == label and item.estimate.replaced is replaced
    assert item.detail.congestion_label_raw == raw


def test_snapshot_cache_json_resolves_names_via_the_registry(seoul_data: Path) -> None:
    folder = seoul_data / "citydata_snapshots_50" / "9ffa8d9c74"
    items = list(
        parse_citydata_json(
            (folder / "liveData.json").read_text(encoding="utf-8"), source_file="liveData.json"
        )
    )
    parsed = [i for i in items if isinstance(i, ParsedLivePopulation)]
    rejects = [i for i in items if isinstance(i, Reject)]
    first = parsed[0]
    # "1": 강남 MICE 관광특구, 보통, 12000-14000, male 42.1, PPLTN_TIME 2023-05-29 12:35
    assert first.estimate.area_code == "POI001"
    assert (first.estimate.people_min, first.estimate.people_max) == (12000, 14000)
    assert first.estimate.congestion_level == "보통"
    assert first.detail.male_pct == 42.1
    assert first.estimate.event_time == _kst("2023-05-29 12:35")
    assert len(parsed) + len({r.record for r in rejects}) == 50
    assert all(r.field == "AREA_CD" for r in rejects)


def test_all_snapshots_parse_without_field_errors(seoul_data: Path) -> None:
    files = sorted((seoul_data / "citydata_snapshots_50").glob("*/liveData.json"))
    parsed = rejected = 0
    for f in files:
        for item in parse_citydata_json(f.read_text(encoding="utf-8"), source_file=str(f)):
            if isinstance(item, Reject):
                assert item.field == "AREA_CD", item  # only names from the old 50-area list
                rejected += 1
            else:
                parsed += 1
    assert len(files) == 14
    assert parsed + rejected == 699
    assert parsed > 600


def _with_forecast(points: list[dict[str, str]]) -> dict[str, object]:
    return {
        "AREA_CD": "POI009", "AREA_NM": "광화문·덕수궁", "AREA_CONGEST_LVL": "여유",
        "AREA_PPLTN_MIN": "7000", "AREA_PPLTN_MAX": "7500", "PPLTN_TIME": "2026-03-20 23:25",
        "FCST_YN": "Y", "FCST_PPLTN": points,
    }  # fmt: skip


def _fcst(when: str, lo: str = "6000", hi: str = "6500", label: str = "여유") -> dict[str, str]:
    return {
        "FCST_TIME": when,
        "FCST_PPLTN_MIN": lo,
        "FCST_PPLTN_MAX": hi,
        "FCST_CONGEST_LVL": label,
    }


@pytest.mark.parametrize(
    ("points", "field"),
    [
        ([_fcst("2026-03-21 01:00"), _fcst("2026-03-21 00:00")], "forecast"),
        ([_fcst("2026-03-21 00:00"), _fcst("2026-03-21 00:00")], "forecast"),
        ([_fcst("2027-03-21 00:00")], "forecast"),
        ([_fcst("2026-03-21 00:00", "NaN")], "FCST_PPLTN_MIN"),
        ([_fcst("2026-03-21 00:00", "1e308")], "FCST_PPLTN_MIN"),
        ([_fcst("2026-03-21 00:00", "7000", "6000")], "FCST_PPLTN[0]"),
        ([_fcst("25:00 tomorrow")], "FCST_TIME"),
    ],
)
def test_a_bad_forecast_rejects_the_record_with_the_field(
    points: list[dict[str, str]], field: str
) -> None:
    got = live_population_from_fields(_with_forecast(points), source_file="t", record=1)
    assert isinstance(got, list) and got, "a bad forecast must not pass"
    # Order and reach are the event schema's checks: the reject names the record.
    where = got[0].field if field != "forecast" else got[0].reason
    assert field in where
