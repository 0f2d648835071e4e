"""Seoul's forecast inside a population estimate is decoded strictly: a bad time, NaN, an
absurd or reversed count, points out of order or out of reach make the whole event a
`schema` dead letter, never a half-stored forecast."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.events import (
    FORECAST_REACH,
    MAX_PEOPLE,
    EventDecodeError,
    PopulationEstimate,
    decode_event,
)
from tests.hostile_events import valid_event

AT = datetime(2026, 3, 20, 14, 25, tzinfo=UTC)


def _point(hours: float, lo: object = 6000, hi: object = 6500, label: object = "여유") -> dict:
    return {
        "time": (AT + timedelta(hours=hours)).isoformat(),
        "people_min": lo,
        "people_max": hi,
        "congestion_level": label,
    }


def _raw(points: list[dict]) -> bytes:
    doc = valid_event("population_estimate", "f-1", AT) | {"forecast": points}
    return json.dumps(doc, ensure_ascii=False, allow_nan=True).encode()


def test_seoul_twelve_hour_forecast_decodes_in_order() -> None:
    event = decode_event(_raw([_point(h + 0.5) for h in range(12)]))
    assert isinstance(event, PopulationEstimate)
    assert [p.time for p in event.forecast] == [AT + timedelta(hours=h + 0.5) for h in range(12)]
    assert event.forecast[0].congestion_level == "여유"


def test_a_stale_forecast_seoul_kept_sending_still_decodes() -> None:
    # Seen in the recorded replies: a forecast whose first points lie hours in the past.
    event = decode_event(_raw([_point(-9), _point(-8), _point(3)]))
    assert isinstance(event, PopulationEstimate) and len(event.forecast) == 3


HOSTILE = {
    "reversed_range": [_point(1, 7000, 6000)],
    "negative_count": [_point(1, -5, 10)],
    "absurd_count": [_point(1, 0, MAX_PEOPLE + 1)],
    "count_as_string": [_point(1, "6000", 6500)],
    "fractional_count": [_point(1, 6000.5, 6500)],
    "unknown_label": [_point(1, label="매우매우 붐빔")],
    "too_far_ahead": [_point(FORECAST_REACH.total_seconds() / 3600 + 1)],
    "too_far_back": [_point(-FORECAST_REACH.total_seconds() / 3600 - 1)],
    "out_of_order": [_point(2), _point(1)],
    "same_time_twice": [_point(1), _point(1)],
    "naive_time": [_point(1) | {"time": "2026-03-21T00:00:00"}],
    "year_9999": [_point(1) | {"time": "9999-12-31T23:59:59+09:00"}],
    "time_as_number": [_point(1) | {"time": 1774051200}],
    "not_a_time": [_point(1) | {"time": "내일 아침"}],
    "unknown_key": [_point(1) | {"FCST_TIME": "2026-03-21 00:00"}],
    "too_many_points": [_point(h / 10) for h in range(49)],
    "point_not_an_object": ["12:00 여유"],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_forecast_is_a_schema_dead_letter(name: str) -> None:
    with pytest.raises(EventDecodeError) as caught:
        decode_event(_raw(HOSTILE[name]))
    assert caught.value.reason == "schema"
    assert caught.value.detail.startswith("forecast") or "forecast" in caught.value.detail


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_count_in_a_forecast_is_refused(literal: str) -> None:
    raw = _raw([_point(1, lo="@@")]).replace(b'"@@"', literal.encode())
    with pytest.raises(EventDecodeError) as caught:
        decode_event(raw)
    assert caught.value.reason in {"not_json", "schema"}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
point_fields = st.fixed_dictionaries(
    {},
    optional={
        "time": st.one_of(
            # Mostly near the reading, so forecasts are accepted as well as refused.
            st.integers(-30 * 60, 30 * 60).map(lambda m: (AT + timedelta(minutes=m)).isoformat()),
            st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
            json_values,
        ),
        "people_min": st.one_of(st.integers(-10, MAX_PEOPLE + 10), json_values),
        "people_max": st.one_of(st.integers(-10, MAX_PEOPLE + 10), json_values),
        "congestion_level": st.one_of(
            st.sampled_from(["여유", "보통", "약간 붐빔", "붐빔"]), json_values
        ),
    },
)


@settings(max_examples=400, deadline=None)
@given(points=st.lists(st.one_of(point_fields, json_values), max_size=14))
def test_any_forecast_decodes_to_a_sound_forecast_or_a_reasoned_refusal(points: list) -> None:
    raw = _raw(points)
    try:
        event = decode_event(raw)
    except EventDecodeError as exc:
        assert exc.reason in {"schema", "not_json", "oversized", "duplicate_key"}
        assert exc.detail.isascii()
        return
    assert isinstance(event, PopulationEstimate)
    times = [p.time for p in event.forecast]
    assert times == sorted(set(times))
    for p in event.forecast:
        assert 0 <= p.people_min <= p.people_max <= MAX_PEOPLE
        assert abs(p.time - event.event_time) <= FORECAST_REACH
