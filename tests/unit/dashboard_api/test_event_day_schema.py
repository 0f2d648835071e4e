"""The event-day body operators send: its declared crowd (`expected_people`, migration
0019) is a whole number of people within bounds, or absent; anything else is a clear
validation error (FastAPI's 422), never a crash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from dashboard_api.schemas.operations import MAX_EXPECTED_PEOPLE, EventDayCreate

BASE: dict[str, Any] = {
    "name": "KBO home game",
    "starts_at": "2026-06-12T17:00:00+09:00",
    "ends_at": "2026-06-12T23:00:00+09:00",
    "thresholds": {"attention": 1.5, "caution": 2.0, "alert": 3.0, "serious": 5.0},
    "area_codes": ["POI086"],
}


@pytest.mark.parametrize(
    ("value", "stored"),
    [(None, None), (16_744, 16_744), (1, 1), (MAX_EXPECTED_PEOPLE, MAX_EXPECTED_PEOPLE)],
)
def test_a_declared_crowd_is_kept(value: int | None, stored: int | None) -> None:
    body = EventDayCreate.model_validate({**BASE, "expected_people": value})
    assert body.expected_people == stored
    assert EventDayCreate.model_validate(BASE).expected_people is None  # optional


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, "greater than or equal to 1"),  # the column says > 0: "none" is leaving it out
        (-5, "greater than or equal to 1"),
        (MAX_EXPECTED_PEOPLE + 1, "less than or equal to"),
        (16_744.5, "valid integer"),
        ("16744", "valid integer"),
        (True, "valid integer"),
        ([16_744], "valid integer"),
    ],
)
def test_a_bad_declared_crowd_is_refused(value: object, error: str) -> None:
    with pytest.raises(ValidationError) as err:
        EventDayCreate.model_validate({**BASE, "expected_people": value})
    assert error in str(err.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


@given(value=JSON)
def test_any_json_is_a_bounded_whole_number_or_a_validation_error(value: object) -> None:
    try:
        body = EventDayCreate.model_validate({**BASE, "expected_people": value})
    except ValidationError:
        return
    n = body.expected_people
    assert n is None or (type(n) is int and 1 <= n <= MAX_EXPECTED_PEOPLE)
