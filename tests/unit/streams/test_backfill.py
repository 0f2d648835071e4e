"""Backfill: what a chunk writes given what the database holds, and what it never writes."""

from __future__ import annotations

import argparse
import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from citypulse.config import StackSettings
from sensors.events import CityEvent, PopulationEstimate, ZoneCount
from streams.backfill import (
    BACKFILL_POLICY,
    Backfill,
    Window,
    minute_chunks,
    plan_chunk,
    run,
    stats_key,
)
from streams.batch import BatchResult, StatsKey, bucket_of

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
T0 = datetime(2023, 7, 17, 3, 10, 31, tzinfo=UTC)  # the 2023 log: years behind the clock


def estimate(
    area: str = "POI009", at: datetime = T0, lo: int = 1000, hi: int = 1200
) -> PopulationEstimate:
    return PopulationEstimate(
        event_id=f"log:{area}:{at.isoformat()}", source="log", event_time=at, ingest_time=at,
        area_code=area, people_min=lo, people_max=hi,
    )  # fmt: skip


class FakeDatabase:
    """A store and its read side over the same rows, so a second load sees the first."""

    def __init__(self) -> None:
        self.batches: list[BatchResult] = []
        self.raw: dict[str, tuple[datetime, StatsKey]] = {}
        self.windows: dict[StatsKey, int] = {}
        self.refreshed: list[tuple[datetime, datetime]] = []

    def write(self, batch: BatchResult, /) -> None:
        self.batches.append(batch)
        for r in batch.readings:
            self.raw[r.event_id] = (
                r.event_time,
                (r.area_code, r.zone_id, r.source, bucket_of(r.event_time)),
            )
        for key, part in batch.stats.items():
            self.windows[key] = self.windows.get(key, 0) + part.samples

    def refresh_rollups(self, since: datetime | None, now: datetime) -> None:
        assert since is not None
        self.refreshed.append((since, now))

    def stored_event_ids(self, ids: Sequence[str], lo: datetime, hi: datetime) -> set[str]:
        return {i for i in ids if i in self.raw and lo <= self.raw[i][0] <= hi}

    def counted_windows(self, lo: datetime, hi: datetime) -> dict[StatsKey, Window]:
        stored = Counter(key for _, key in self.raw.values())
        return {k: Window(n, stored[k]) for k, n in self.windows.items() if lo <= k[3] <= hi}

    def seed_raw(self, event: CityEvent) -> None:
        key = stats_key(event)
        assert key is not None
        self.raw[event.event_id] = (event.event_time, key)


def log_of(n: int) -> list[CityEvent]:
    return [
        estimate(area, T0 + timedelta(minutes=5 * i))
        for i in range(n)
        for area in ("POI009", "POI014")
    ]


def test_an_old_log_is_stored_raw_and_in_its_windows() -> None:
    db = FakeDatabase()
    report = Backfill(db, db, db, chunk_events=3).load(log_of(4), now=NOW)
    assert (report.read, report.stored, report.already) == (8, 8, 0)
    assert not report.rejected
    assert len(db.raw) == 8
    assert sorted(db.windows.values()) == [1] * 8  # one reading per area and 5 minutes


def test_a_second_load_changes_nothing() -> None:
    db = FakeDatabase()
    events = log_of(4)
    Backfill(db, db, db).load(events, now=NOW)
    writes, raw, windows = len(db.batches), dict(db.raw), dict(db.windows)
    report = Backfill(db, db, db).load(events, now=NOW)
    assert (report.stored, report.windows_completed, report.already) == (0, 0, 8)
    assert len(db.batches) == writes and db.raw == raw and db.windows == windows


def test_a_load_cut_short_resumes_where_it_stopped() -> None:
    db = FakeDatabase()
    events = log_of(4)
    Backfill(db, db, db).load(events[:5], now=NOW)
    report = Backfill(db, db, db).load(events, now=NOW)
    assert (report.stored, report.already) == (3, 5)
    assert sorted(db.windows.values()) == [1] * 8


def test_readings_stored_raw_but_never_counted_complete_their_windows() -> None:
    # What `citypulse replay` of an old log leaves: raw rows, dead-lettered as too late.
    db = FakeDatabase()
    events = log_of(2)
    for e in events:
        db.seed_raw(e)
    report = Backfill(db, db, db).load(events, now=NOW)
    assert (report.stored, report.windows_completed) == (0, 4)
    assert all(not b.readings for b in db.batches)  # no second raw row
    assert sorted(db.windows.values()) == [1] * 4


def test_a_partly_counted_window_is_left_alone_and_reported() -> None:
    db = FakeDatabase()
    a = estimate(at=T0)
    b = estimate(at=T0 + timedelta(seconds=20))  # same minute, same area
    db.seed_raw(a)
    db.seed_raw(b)
    db.windows = {stats_key(a): 1}  # type: ignore[dict-item]
    report = Backfill(db, db, db).load([a, b], now=NOW)
    assert (report.windows_completed, report.already, report.partial_windows) == (0, 0, 2)
    assert db.windows == {stats_key(a): 1}
    assert "2 left in partly counted windows" in report.summary()


def test_bad_readings_are_reported_not_written_and_valid_ones_still_load() -> None:
    db = FakeDatabase()
    future = estimate(at=NOW + timedelta(hours=1))
    report = Backfill(db, db, db).load([estimate(area="POI999"), estimate(), future], now=NOW)
    assert report.rejected == {"unknown_area": 1, "future_time": 1}
    assert report.stored == 1
    assert all(not b.dead for b in db.batches)  # the live dead-letter counters stay as they are


def test_no_offsets_and_no_live_events_reach_the_store() -> None:
    db = FakeDatabase()
    Backfill(db, db, db, chunk_events=3).load(log_of(3), now=NOW)
    assert db.batches
    for b in db.batches:
        assert not b.next_offsets and not b.first_offsets and not b.events


def test_rollups_are_refreshed_over_the_whole_span_even_when_nothing_was_new() -> None:
    db = FakeDatabase()
    events = log_of(3)
    Backfill(db, db, db).load(events, now=NOW)
    Backfill(db, db, db).load(events, now=NOW)
    first, last = T0, T0 + timedelta(minutes=10)
    assert db.refreshed == [(first, last + timedelta(minutes=1))] * 2


def test_zone_counts_are_keyed_by_their_zone() -> None:
    z = ZoneCount(
        event_id="z", source="c", event_time=T0, ingest_time=T0, area_code="POI009",
        zone_id="exit-3", counter_id="c1", count=10, walkable_m2=50.0,
    )  # fmt: skip
    assert stats_key(z) == ("POI009", "exit-3", "zone_counter", bucket_of(T0))


@pytest.mark.parametrize(
    ("stored", "window", "process", "stats_only", "already", "partial"),
    [
        (False, None, True, False, 0, 0),
        (True, None, True, True, 0, 0),  # stored raw, never counted
        (True, Window(1, 1), False, False, 1, 0),
        (True, Window(3, 2), False, False, 1, 0),  # a repeat counted twice live
        (True, Window(1, 2), False, False, 0, 1),  # which one is missing is unknown
        (False, Window(1, 1), True, False, 0, 0),  # a new reading joins a window
    ],
)
def test_plan_chunk(
    stored: bool, window: Window | None, process: bool, stats_only: bool, already: int,
    partial: int,
) -> None:  # fmt: skip
    e = estimate()
    key = stats_key(e)
    assert key is not None
    plan = plan_chunk([e], {e.event_id} if stored else set(), {key: window} if window else {})
    got = (bool(plan.to_process), e.event_id in plan.stats_only, plan.already, plan.partial_windows)
    assert got == (process, stats_only, already, partial)


def test_the_policy_has_no_lateness_or_age_limit_but_refuses_the_future() -> None:
    assert NOW - BACKFILL_POLICY.max_age < datetime(2000, 1, 1, tzinfo=UTC)
    assert BACKFILL_POLICY.allowed_lateness > timedelta(days=365 * 10)
    assert BACKFILL_POLICY.max_future <= timedelta(minutes=5)


def test_chunks_end_on_a_minute_so_a_window_is_planned_once() -> None:
    # 03:10:31 .. 03:12:21 every 10 s: 3 readings in 03:10, 6 in 03:11, 3 in 03:12
    events = [estimate(at=T0 + timedelta(seconds=10 * i)) for i in range(12)]
    chunks = list(minute_chunks(events, 4))
    assert [len(c) for c in chunks] == [9, 3]  # the 4th reading opens 03:11: it ends there
    assert [e for c in chunks for e in c] == events
    for before, after in itertools.pairwise(chunks):
        assert bucket_of(before[-1].event_time) < bucket_of(after[0].event_time)


def test_a_missing_file_stops_before_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(paths=[str(tmp_path / "nope.csv")])
    # An unreachable database port: reaching it would fail differently.
    settings = StackSettings(db_port=1, env="test", var_dir=tmp_path)
    assert run(args, settings) == 2
    assert "no such file" in capsys.readouterr().err
