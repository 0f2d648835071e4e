"""citydata JSON that a collector converted from the XML reply with xmltodict: every
list field comes nested as {KEY: {KEY: [rows]}} (or {KEY: {KEY: row}} for one row)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmltodict  # type: ignore[import-untyped]

from sensors.adapters import split_rejects
from sensors.adapters.seoul_citydata import list_field, parse_citydata_json
from sensors.adapters.seoul_citydata_xml import parse_citydata_xml


@pytest.mark.parametrize(
    "name", ["gwanghwamun_20260320_235513.xml", "gwanghwamun_20260321_000025.xml"]
)
def test_xmltodict_json_gives_what_the_xml_gives(seoul_data: Path, name: str) -> None:
    text = (seoul_data / "citydata_raw_xml" / name).read_text(encoding="utf-8")
    from_xml, xml_rejects = split_rejects(parse_citydata_xml(text, source_file=name))
    converted = json.dumps(xmltodict.parse(text), ensure_ascii=False)
    from_json, json_rejects = split_rejects(parse_citydata_json(converted, source_file=name))
    assert xml_rejects == [] and json_rejects == []
    assert len(from_json) == len(from_xml) == 1
    assert from_json[0].estimate == from_xml[0].estimate
    assert from_json[0].detail == from_xml[0].detail
    assert len(from_json[0].estimate.forecast) > 1


_ROW = {"FCST_TIME": "2026-03-21 00:00", "FCST_PPLTN_MIN": "1", "FCST_PPLTN_MAX": "2"}


@pytest.mark.parametrize(
    ("value", "rows"),
    [
        (None, []),
        ("", []),
        ([_ROW, _ROW], [_ROW, _ROW]),  # the API's own JSON
        (_ROW, [_ROW]),  # one row, unwrapped
        ({"FCST_PPLTN": [_ROW, _ROW]}, [_ROW, _ROW]),  # xmltodict, several rows
        ({"FCST_PPLTN": _ROW}, [_ROW]),  # xmltodict, one row
        ([{"FCST_PPLTN": _ROW}, {"FCST_PPLTN": _ROW}], [_ROW, _ROW]),  # row wrappers
        ({"FCST_PPLTN": None}, []),  # xmltodict, <FCST_PPLTN><FCST_PPLTN/></FCST_PPLTN>
    ],
)
def test_list_field_shapes(value: object, rows: list[object]) -> None:
    assert list_field({"FCST_PPLTN": value}, "FCST_PPLTN") == rows


def test_single_forecast_point_from_xmltodict() -> None:
    xml = (
        "<SeoulRtd.citydata_ppltn><AREA_CD>POI009</AREA_CD><AREA_NM>광화문·덕수궁</AREA_NM>"
        "<AREA_PPLTN_MIN>7000</AREA_PPLTN_MIN><AREA_PPLTN_MAX>7500</AREA_PPLTN_MAX>"
        "<AREA_CONGEST_LVL>여유</AREA_CONGEST_LVL><PPLTN_TIME>2026-03-20 23:25</PPLTN_TIME>"
        "<FCST_PPLTN><FCST_PPLTN><FCST_TIME>2026-03-21 00:00</FCST_TIME>"
        "<FCST_CONGEST_LVL>여유</FCST_CONGEST_LVL><FCST_PPLTN_MIN>6000</FCST_PPLTN_MIN>"
        "<FCST_PPLTN_MAX>6500</FCST_PPLTN_MAX></FCST_PPLTN></FCST_PPLTN>"
        "</SeoulRtd.citydata_ppltn>"
    )
    (parsed,) = parse_citydata_json(json.dumps(xmltodict.parse(xml)))
    assert not isinstance(parsed, list) and hasattr(parsed, "estimate")
    (point,) = parsed.estimate.forecast
    assert (point.people_min, point.people_max) == (6000, 6500)
