"""Hostile citydata JSON: records or rejects with a reason, never an exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.adapters import Reject
from sensors.adapters.seoul_citydata import ParsedLivePopulation, parse_citydata_json

KEYS = ["AREA_CD", "AREA_NM", "AREA_PPLTN_MIN", "AREA_PPLTN_MAX", "PPLTN_TIME",
        "AREA_CONGEST_LVL", "REPLACE_YN", "FCST_YN", "FCST_PPLTN", "FCST_TIME",
        "FCST_PPLTN_MIN", "FCST_PPLTN_MAX", "MALE_PPLTN_RATE", "LIVE_PPLTN_STTS"]  # fmt: skip
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["2026-03-20 23:25", "POI009", "여유", "7000", "Y", "-1", "1e400"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5),
    max_leaves=25,
)  # fmt: skip
GOOD = {"AREA_CD": "POI009", "AREA_PPLTN_MIN": "7000", "AREA_PPLTN_MAX": "7500",
        "PPLTN_TIME": "2026-03-20 23:25"}  # fmt: skip


def _check(text: str | bytes) -> None:
    items = list(parse_citydata_json(text))
    assert items
    for item in items:
        assert isinstance(item, ParsedLivePopulation | Reject)
        if isinstance(item, Reject):
            assert item.reason


@settings(max_examples=300, deadline=None)
@given(values)
def test_any_document(doc: object) -> None:
    _check(json.dumps(doc))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), values))
def test_any_value_in_a_record(changes: dict[str, object]) -> None:
    record = {**GOOD, **changes}
    _check(json.dumps({"SeoulRtd.citydata_ppltn": [record]}))
    _check(json.dumps({"CITYDATA": {"LIVE_PPLTN_STTS": {"LIVE_PPLTN_STTS": record}}}))


@pytest.mark.parametrize("depth", [900, 995, 5000])
def test_deep_nesting_is_a_reject(depth: int) -> None:
    _check("[" * depth + "]" * depth)
    _check('{"a":' * depth + "1" + "}" * depth)


@pytest.mark.parametrize("text", ["1E400", "inf", "nan", "-0.5"])
def test_non_finite_counts_are_rejected(text: str) -> None:
    record = {**GOOD, "AREA_PPLTN_MAX": text, "FCST_PPLTN": [{"FCST_PPLTN_MIN": text}]}
    items = list(parse_citydata_json(json.dumps({"SeoulRtd.citydata_ppltn": [record]})))
    assert items and all(isinstance(i, Reject) for i in items)
    assert any(i.field == "AREA_PPLTN_MAX" and "head count" in i.reason for i in items)  # type: ignore[union-attr]
