"""The one aggregation path: 1-minute partials and the lateness rule the batch uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce

import pytest
from test_batch import records, zone

from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, ValidationPolicy
from streams.crowd.windows import (
    DEFAULT_ALLOWED_LATENESS,
    StatsPartial,
    bucket_of,
    is_too_late,
)
from streams.settings import WorkerSettings

T0 = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)
HOTSPOTS = hotspots_by_code()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass
class Sample:
    people: float
    event_time: datetime
    walkable_m2: float = 100.0


@pytest.mark.parametrize(
    ("ts", "expected"),
    [(at(0), at(0)), (at(59.999), at(0)), (at(60), at(60)), (at(-0.001), at(-60))],
)
def test_bucket_is_the_minute_holding_the_event(ts: datetime, expected: datetime) -> None:
    assert bucket_of(ts) == expected


TEN_MIN = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("event_s", "newest_s", "too_late"),
    [
        (0, 60, False),  # older, inside the allowed lateness
        (0, 600, False),  # exactly the allowed lateness behind: still counts
        (-0.001, 600, True),  # just beyond it
        (-3600, 600, True),
        (600, 600, False),  # a tie
    ],
)
def test_lateness_is_judged_by_event_time_behind_the_partitions_newest(
    event_s: float, newest_s: float, too_late: bool
) -> None:
    assert is_too_late(at(event_s), at(newest_s), TEN_MIN) is too_late


@pytest.mark.parametrize(
    ("minutes_behind", "dead"),
    [(0, False), (9, False), (10, False), (10.01, True), (60, True)],
)
def test_the_batch_applies_the_one_lateness_rule(minutes_behind: float, dead: bool) -> None:
    newest = T0 + timedelta(minutes=30)
    proc = BatchProcessor(HOTSPOTS, ValidationPolicy(allowed_lateness=TEN_MIN))
    events = [zone("new", newest), zone("old", newest - timedelta(minutes=minutes_behind))]
    out = proc.process(records(*events), {}, newest + timedelta(seconds=1))
    assert [d.reason for d in out.dead] == (["too_late"] if dead else [])
    assert sum(p.samples for p in out.stats.values()) == (1 if dead else 2)


def test_the_default_lateness_is_the_settings_default() -> None:
    configured = WorkerSettings.model_fields["allowed_lateness_s"].default
    assert timedelta(seconds=configured) == DEFAULT_ALLOWED_LATENESS


SAMPLES = [
    Sample(10, at(5)),
    Sample(30, at(50), 120.0),
    Sample(20, at(20)),
    Sample(5, at(50), 90.0),  # ties the newest time: the later one wins, as in the upsert
    Sample(40, at(1)),
]


def _fold(samples: list[Sample]) -> StatsPartial:
    part = StatsPartial.of(samples[0])
    for s in samples[1:]:
        part.add(s)
    return part


def test_a_partial_holds_count_sum_min_max_and_the_newest_value() -> None:
    p = _fold(SAMPLES)
    assert (p.samples, p.people_sum, p.people_min, p.people_max) == (5, 105, 5, 40)
    assert (p.people_last, p.last_event_time, p.walkable_m2) == (5, at(50), 90.0)


@pytest.mark.parametrize("cuts", list(itertools.combinations(range(1, len(SAMPLES)), 2)))
def test_batches_merged_in_order_equal_one_partial(cuts: tuple[int, int]) -> None:
    """However a window's readings are split into batches, the stored row comes out the
    same: the sink merges each batch's partial onto it in batch order."""
    a, b = cuts
    parts = [_fold(SAMPLES[:a]), _fold(SAMPLES[a:b]), _fold(SAMPLES[b:])]
    assert reduce(StatsPartial.merged, parts) == _fold(SAMPLES)
    # associative: grouping the merges differently changes nothing
    assert parts[0].merged(parts[1].merged(parts[2])) == _fold(SAMPLES)
