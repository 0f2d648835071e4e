from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citypulse.domain.area_state import SourceKind
from citypulse.domain.stages import Stage
from streams.crowd.staleness import (
    age_s,
    guarded_stage,
    is_scope_stale,
    is_source_stale,
)

NOW = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_time", "expected"),
    [(NOW - timedelta(seconds=90), 90.0), (NOW, 0.0), (NOW + timedelta(seconds=30), 0.0)],
)
def test_age_clamps_future_readings(event_time: datetime, expected: float) -> None:
    assert age_s(event_time, NOW) == expected


@pytest.mark.parametrize(
    ("source", "age", "stale"),
    [
        ("telecom", 900.0, False),  # exactly 3 cadences
        ("telecom", 901.0, True),
        ("zone_counter", 181.0, True),
        ("visitor_count", 300.0, False),
        ("zone_counter", None, True),  # never reported
    ],
)
def test_source_staleness(source: SourceKind, age: float | None, stale: bool) -> None:
    assert is_source_stale(source, age) is stale


@pytest.mark.parametrize(
    ("ages", "required", "stale"),
    [
        ({}, (), True),
        ({}, ("telecom",), True),
        ({"telecom": 600.0}, ("telecom",), False),
        # required telecom silent for 20 min; a fresh counter is not required
        ({"telecom": 1200.0, "zone_counter": 10.0}, ("telecom",), True),
        # either will do: the fresh counter keeps the zone live
        ({"telecom": 1200.0, "zone_counter": 10.0}, ("telecom", "zone_counter"), False),
        # nothing required means any source counts
        ({"visitor_count": 100.0}, (), False),
        ({"zone_counter": 200.0, "visitor_count": 400.0}, (), True),
    ],
)
def test_scope_staleness_uses_freshest_required_source(
    ages: dict[SourceKind, float | None], required: tuple[SourceKind, ...], stale: bool
) -> None:
    assert is_scope_stale(ages, required) is stale


@pytest.mark.parametrize(
    ("computed", "last", "stale", "expected"),
    [
        (Stage.NORMAL, Stage.ALERT, False, Stage.NORMAL),  # fresh data may fall
        (Stage.NORMAL, Stage.ALERT, True, Stage.ALERT),  # stale never falls
        (Stage.SERIOUS, Stage.ALERT, True, Stage.SERIOUS),  # but may rise
        (Stage.CAUTION, None, True, Stage.CAUTION),  # nothing known before
    ],
)
def test_guarded_stage(computed: Stage, last: Stage | None, stale: bool, expected: Stage) -> None:
    assert guarded_stage(computed, last, stale) is expected
