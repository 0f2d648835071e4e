"""The sink's stats arrays: one per column, in key order, each of one type."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.crowd.windows import StatsPartial
from streams.sink import stats_columns

T = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_columns_follow_the_sorted_keys_and_make_each_number_column_one_type() -> None:
    stats = {
        ("POI002", "Z1", "zone_counter", T): StatsPartial(2, 300, 100, 200, 200, T, 500),
        ("POI001", "", "telecom", T): StatsPartial(1, 50.5, 50.5, 50.5, 50.5, T, 4e4),
    }
    cols = stats_columns(stats)
    assert cols[:4] == [["POI001", "POI002"], ["", "Z1"], ["telecom", "zone_counter"], [T, T]]
    assert cols[4] == [1, 2] and all(type(v) is int for v in cols[4])
    for col in cols[5:9] + cols[10:]:
        assert all(type(v) is float for v in col)
    assert cols[5] == [50.5, 300.0] and cols[9] == [T, T] and cols[10] == [4e4, 500.0]


def test_no_stats_make_empty_columns() -> None:
    assert stats_columns({}) == [[] for _ in range(11)]
