from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from citypulse.domain.korea_time import KST
from streams.crowd.windows import (
    Lateness,
    WatermarkTracker,
    WindowAggregate,
    aggregate_partials,
    classify_lateness,
    live_estimate,
    refresh_due,
    window_start,
)

T0 = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("ts", "width", "expected"),
    [
        (at(0), timedelta(minutes=1), at(0)),
        (at(59.999), timedelta(minutes=1), at(0)),
        (at(60), timedelta(minutes=1), at(60)),
        (at(-0.001), timedelta(minutes=1), at(-60)),
        (at(299), timedelta(minutes=5), at(0)),
        # KST input lands in the same UTC-aligned window
        (datetime(2026, 6, 13, 13, 0, 30, tzinfo=KST), timedelta(minutes=1), at(0)),
    ],
)
def test_window_start_floors_to_epoch_aligned_windows(
    ts: datetime, width: timedelta, expected: datetime
) -> None:
    assert window_start(ts, width) == expected


@pytest.mark.parametrize(
    ("ts", "width"),
    [(datetime(2026, 6, 13, 4, 0), timedelta(minutes=1)), (at(0), timedelta(0))],
)
def test_window_start_rejects_naive_time_and_empty_width(ts: datetime, width: timedelta) -> None:
    with pytest.raises(ValueError):
        window_start(ts, width)


EVENTS = [("POI001", at(5), 10.0), ("POI001", at(50), 30.0), ("POI001", at(20), 20.0)]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], {}),
        ([("POI001", at(5), 10.0)], {("POI001", at(0)): (1, 10.0, 10.0, 10.0, 10.0, at(5))}),
        # out of order: last is the newest event time, not the last to arrive
        (EVENTS, {("POI001", at(0)): (3, 60.0, 10.0, 30.0, 30.0, at(50))}),
        (
            [("POI001", at(5), 1.0), ("POI002", at(6), 2.0), ("POI001", at(65), 3.0)],
            {
                ("POI001", at(0)): (1, 1.0, 1.0, 1.0, 1.0, at(5)),
                ("POI002", at(0)): (1, 2.0, 2.0, 2.0, 2.0, at(6)),
                ("POI001", at(60)): (1, 3.0, 3.0, 3.0, 3.0, at(65)),
            },
        ),
    ],
)
def test_aggregate_partials(
    events: list[tuple[str, datetime, float]],
    expected: dict[tuple[str, datetime], tuple[int, float, float, float, float, datetime]],
) -> None:
    got = {
        k: (a.count, a.total, a.minimum, a.maximum, a.last_value, a.last_event_time)
        for k, a in aggregate_partials(events).items()
    }
    assert got == expected


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_merge_of_partials_is_order_independent(order: tuple[int, ...]) -> None:
    # two batches of the same window, merged in any order, equal one big batch
    parts = [
        WindowAggregate.of(4.0, at(10)),
        WindowAggregate.of(9.0, at(40)),
        WindowAggregate.of(9.5, at(40)),  # same event time as above: larger value wins
    ]
    merged = parts[order[0]].merge(parts[order[1]]).merge(parts[order[2]])
    assert (merged.count, merged.total, merged.minimum, merged.maximum) == (3, 22.5, 4.0, 9.5)
    assert (merged.last_value, merged.last_event_time) == (9.5, at(40))
    assert merged.mean == pytest.approx(7.5)


def test_merge_refuses_different_windows() -> None:
    with pytest.raises(ValueError):
        WindowAggregate.of(1.0, at(0)).merge(WindowAggregate.of(1.0, at(61)))


@pytest.mark.parametrize(
    ("event_time", "max_seen", "expected"),
    [
        (at(10), None, Lateness.ON_TIME),  # first event of the key
        (at(10), at(50), Lateness.ON_TIME),  # same, still open window
        (at(120), at(50), Lateness.ON_TIME),  # ahead of everything
        (at(10), at(60), Lateness.LATE_ALLOWED),  # its window just closed
        (at(10), at(359), Lateness.LATE_ALLOWED),  # watermark 59 s < window end 60 s
        (at(10), at(360), Lateness.TOO_LATE),  # watermark reached the window end
        (at(10), at(3600), Lateness.TOO_LATE),
    ],
)
def test_classify_lateness(
    event_time: datetime, max_seen: datetime | None, expected: Lateness
) -> None:
    assert classify_lateness(event_time, max_seen, timedelta(minutes=5)) is expected


def test_watermark_tracker_advances_only_forward() -> None:
    tracker = WatermarkTracker(allowed_lateness=timedelta(minutes=2))
    verdicts = [tracker.observe(at(s)) for s in (0, 200, 30, 130, 600, 200)]
    assert verdicts == [
        Lateness.ON_TIME,
        Lateness.ON_TIME,
        Lateness.TOO_LATE,  # window [0,60) ends before watermark 200-120=80
        Lateness.LATE_ALLOWED,  # window [120,180) ends after watermark 80
        Lateness.ON_TIME,
        Lateness.TOO_LATE,
    ]
    assert tracker.max_event_time == at(600)
    assert tracker.watermark == at(480)


@pytest.mark.parametrize(
    ("windows", "now", "expected"),
    [
        ([], at(10), None),
        ([WindowAggregate.of(7.0, at(5))], at(10), (7.0, 5.0, True)),
        (
            [WindowAggregate.of(7.0, at(65)), WindowAggregate.of(3.0, at(5))],  # out of order
            at(125),
            (7.0, 60.0, False),
        ),
    ],
)
def test_live_estimate_takes_newest_reading(
    windows: list[WindowAggregate], now: datetime, expected: tuple[float, float, bool] | None
) -> None:
    got = live_estimate(windows, now)
    assert (None if got is None else (got.value, got.age_s, got.partial)) == expected


@pytest.mark.parametrize(
    ("last", "now", "due"),
    [(None, at(0), True), (at(0), at(4.9), False), (at(0), at(5), True), (at(10), at(0), True)],
)
def test_refresh_due_every_five_seconds(last: datetime | None, now: datetime, due: bool) -> None:
    assert refresh_due(last, now) is due
