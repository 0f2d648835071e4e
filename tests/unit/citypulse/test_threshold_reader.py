"""Rows of areas, zones and event_day_profiles to a ThresholdBook (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from citypulse.domain.stages import DEFAULT_THRESHOLDS, StageThresholds
from citypulse.domain.threshold_reader import book_from_rows, thresholds_from_json

NOW = datetime(2026, 12, 31, 14, 0, tzinfo=UTC)
STRICT = {"attention": 1.0, "caution": 1.5, "alert": 2.5, "serious": 4.0}
STRICT_T = StageThresholds(1.0, 1.5, 2.5, 4.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (STRICT, STRICT_T),
        ({"attention": 2, "caution": 3, "alert": 4, "serious": 6}, StageThresholds(2, 3, 4, 6)),
        ({**STRICT, "note": "alley"}, STRICT_T),  # unknown keys are ignored
        (None, None),
        ({}, None),
        ([1.0, 1.5, 2.5, 4.0], None),
        ({"attention": 1.0, "caution": 1.5, "alert": 2.5}, None),  # serious missing
        ({**STRICT, "caution": "1.5"}, None),  # a string is not a bound
        ({**STRICT, "attention": True}, None),
        ({**STRICT, "serious": float("inf")}, None),
        ({**STRICT, "caution": 3.0}, None),  # not increasing
        ({**STRICT, "attention": 0}, None),  # not positive
    ],
)
def test_thresholds_from_json(value: object, expected: StageThresholds | None) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            thresholds_from_json(value)
    else:
        assert thresholds_from_json(value) == expected


def _event(**kw: Any) -> dict[str, Any]:
    row = {
        "id": 1,
        "name": "countdown",
        "starts_at": NOW,
        "ends_at": NOW + timedelta(hours=2),
        "thresholds": STRICT,
        "area_codes": ["POI009"],
    }
    return {**row, **kw}


@pytest.mark.parametrize(
    ("areas", "zones", "events", "per_area", "per_zone", "event_names"),
    [
        ([], [], [], {}, {}, []),
        ([{"area_code": "POI009", "thresholds": STRICT}], [], [], {"POI009": STRICT_T}, {}, []),
        # NULL is "back to the defaults"; a bad row keeps the defaults, the rest still load
        (
            [
                {"area_code": "POI001", "thresholds": None},
                {"area_code": "POI002", "thresholds": {"attention": 9}},
                {"area_code": "POI003", "thresholds": STRICT},
            ],
            [],
            [],
            {"POI003": STRICT_T},
            {},
            [],
        ),
        (
            [],
            [
                {"area_code": "POI072", "zone_id": "alley", "thresholds": STRICT},
                {"area_code": "POI072", "zone_id": "plaza", "thresholds": None},
                {"area_code": "POI072", "zone_id": "gate", "thresholds": "broken"},
            ],
            [],
            {},
            {("POI072", "alley"): STRICT_T},
            [],
        ),
        ([], [], [_event(), _event(id=2, name="fireworks")], {}, {}, ["countdown", "fireworks"]),
        # bad profiles are skipped, good ones kept
        (
            [],
            [],
            [
                _event(id=1, ends_at=NOW),  # ends when it starts
                _event(id=2, thresholds={"attention": 1.0}),
                _event(id=3, name="ok"),
            ],
            {},
            {},
            ["ok"],
        ),
    ],
)
def test_book_from_rows(
    areas: list[dict[str, Any]],
    zones: list[dict[str, Any]],
    events: list[dict[str, Any]],
    per_area: dict[str, StageThresholds],
    per_zone: dict[tuple[str, str], StageThresholds],
    event_names: list[str],
) -> None:
    book = book_from_rows(areas, zones, events)
    assert book.default == DEFAULT_THRESHOLDS
    assert dict(book.per_area) == per_area
    assert dict(book.per_zone) == per_zone
    assert [e.name for e in book.events] == event_names


@pytest.mark.parametrize(
    ("area_codes", "area", "at", "origin"),
    [
        (["POI009"], "POI009", NOW, "default+event:countdown"),
        (["POI009"], "POI014", NOW, "default"),
        ([], "POI014", NOW, "default+event:countdown"),  # an empty list is every area
        (None, "POI014", NOW, "default+event:countdown"),
        (["POI009"], "POI009", NOW - timedelta(seconds=1), "default"),  # not started
        (["POI009"], "POI009", NOW + timedelta(hours=2), "default"),  # end is exclusive
    ],
)
def test_event_rows_resolve_in_their_window_and_areas(
    area_codes: list[str] | None, area: str, at: datetime, origin: str
) -> None:
    book = book_from_rows([], [], [_event(area_codes=area_codes)])
    resolved = book.resolve(area, None, at)
    assert resolved.origin == origin
    assert resolved.thresholds == (STRICT_T if "event" in origin else DEFAULT_THRESHOLDS)


@pytest.mark.parametrize(
    ("value", "names", "expected"),
    [
        (None, ["countdown"], None),  # no declared crowd: thresholds only, as before
        (16744, ["countdown"], 16744.0),
        (96000.0, ["countdown"], 96000.0),
        (0, [], None),  # a bad value skips the row (with a warning), never a 500 later
        (-5, [], None),
        (True, [], None),
        ("lots", [], None),
    ],
)
def test_an_event_row_carries_its_expected_crowd(
    value: object, names: list[str], expected: float | None
) -> None:
    book = book_from_rows([], [], [_event(expected_people=value)])
    assert [e.name for e in book.events] == names
    if names:
        assert book.events[0].expected_people == expected
