"""One batch: defect reasons, duplicates, replays, lateness and 1-minute partials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sensors.events import PopulationEstimate, ZoneCount, encode_event
from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, RawRecord, ValidationPolicy

NOW = datetime(2026, 6, 13, 4, 0, 30, tzinfo=UTC)
HOTSPOTS = hotspots_by_code()


def zone(eid: str, at: datetime = NOW, count: int = 100, area: str = "POI009") -> bytes:
    return encode_event(
        ZoneCount(event_id=eid, source="test", event_time=at, ingest_time=at, area_code=area,
                  zone_id="z1", counter_id="c1", count=count, walkable_m2=100.0)
    )  # fmt: skip


def estimate(eid: str, at: datetime = NOW) -> bytes:
    return encode_event(
        PopulationEstimate(event_id=eid, source="test", event_time=at, ingest_time=at,
                           area_code="POI009", people_min=1000, people_max=1200)
    )  # fmt: skip


def records(*values: bytes | None, first: int = 0, partition: int = 0) -> list[RawRecord]:
    return [RawRecord("t", partition, first + i, b"k", v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"{not json", "not_json"),
        (b'{"kind":"bogus"}', "unknown_kind"),
        (b"x" * (64 * 1024 + 1), "oversized"),
        (zone("future", at=NOW + timedelta(minutes=6)), "future_time"),
        (zone("old", at=NOW - timedelta(days=8)), "too_old"),
        (zone("ghost", area="POI999"), "unknown_area"),
        (zone("crush", count=1300), "implausible_density"),  # 13/m²
    ],
)
def test_each_defect_is_dead_lettered_with_its_reason(value: bytes | None, reason: str) -> None:
    out = BatchProcessor(HOTSPOTS).process(records(value, zone("ok")), {}, NOW)
    assert [d.reason for d in out.dead] == [reason]
    assert out.dead[0].record.offset == 0
    assert [r.event_id for r in out.readings] == ["ok"]  # the valid neighbour still counts
    assert out.next_offsets == {("t", 0): 2}  # a dead letter is consumed too


def test_partials_merge_per_window_and_source() -> None:
    out = BatchProcessor(HOTSPOTS).process(
        records(zone("a", count=100), zone("b", count=300), estimate("p"),
                zone("c", at=NOW + timedelta(minutes=1), count=50)),
        {}, NOW + timedelta(minutes=2),
    )  # fmt: skip
    minute = NOW.replace(second=0)
    stats = {(k[1], k[2], k[3]): (p.samples, p.people_sum, p.people_min, p.people_max)
             for k, p in out.stats.items()}  # fmt: skip
    assert stats == {
        ("z1", "zone_counter", minute): (2, 400.0, 100.0, 300.0),
        ("z1", "zone_counter", minute + timedelta(minutes=1)): (1, 50.0, 50.0, 50.0),
        ("", "telecom", minute): (1, 1100.0, 1100.0, 1100.0),
    }


def test_same_event_sent_twice_counts_once_even_across_batches() -> None:
    proc = BatchProcessor(HOTSPOTS)
    first = proc.process(records(zone("a"), zone("a")), {}, NOW)
    second = proc.process(records(zone("a"), zone("b"), first=2), {}, NOW)
    assert [r.event_id for r in first.readings + second.readings] == ["a", "b"]
    assert [(d.reason, d.record.offset) for d in first.dead + second.dead] == [
        ("duplicate", 1),
        ("duplicate", 2),
    ]


def test_a_batch_read_again_after_a_refused_write_is_not_a_duplicate() -> None:
    proc = BatchProcessor(HOTSPOTS)
    proc.process(records(zone("a"), zone("b")), {}, NOW)  # the store refused this batch
    again = proc.process(records(zone("a"), zone("b"), zone("a")), {}, NOW)
    assert [r.event_id for r in again.readings] == ["a", "b"]
    assert [(d.reason, d.record.offset) for d in again.dead] == [("duplicate", 2)]


def test_same_id_on_another_partition_is_a_duplicate() -> None:
    proc = BatchProcessor(HOTSPOTS)
    proc.process(records(zone("a")), {}, NOW)
    other = proc.process(records(zone("a"), partition=1), {}, NOW)
    assert [d.reason for d in other.dead] == ["duplicate"]


def test_duplicate_memory_is_bounded_and_keeps_at_least_the_newest_half() -> None:
    proc = BatchProcessor(HOTSPOTS, ValidationPolicy(recent_ids=4))
    proc.process(records(*(zone(e) for e in "abcde")), {}, NOW)
    again = proc.process(records(zone("d"), zone("e"), zone("a"), first=5), {}, NOW)
    assert [r.event_id for r in again.readings] == ["a"]  # "a" was forgotten, "d", "e" not
    assert [d.reason for d in again.dead] == ["duplicate", "duplicate"]


def test_records_below_the_stored_offset_are_replays() -> None:
    out = BatchProcessor(HOTSPOTS).process(
        records(zone("a"), zone("b"), zone("c"), first=10), {("t", 0): 12}, NOW
    )
    assert out.skipped_replays == 2
    assert [r.event_id for r in out.readings] == ["c"]
    assert (out.first_offsets, out.next_offsets) == ({("t", 0): 12}, {("t", 0): 13})


def test_late_within_lateness_corrects_its_window_later_is_stored_raw_and_dead() -> None:
    proc = BatchProcessor(HOTSPOTS, ValidationPolicy(allowed_lateness=timedelta(minutes=10)))
    out = proc.process(
        records(zone("new"), zone("late", at=NOW - timedelta(minutes=9)),
                zone("too-late", at=NOW - timedelta(minutes=11))),
        {}, NOW,
    )  # fmt: skip
    assert [r.event_id for r in out.readings] == ["new", "late", "too-late"]
    assert [d.reason for d in out.dead] == ["too_late"]
    assert sum(p.samples for p in out.stats.values()) == 2
    assert [e.event_id for e in out.events] == ["new", "late"]


def test_interleaved_partitions_keep_their_own_watermarks_replays_and_offsets() -> None:
    p0 = records(zone("p0-old", at=NOW - timedelta(minutes=30)), zone("p0-new"),
                 zone("p0-late", at=NOW - timedelta(minutes=11)), first=4)  # fmt: skip
    p1 = records(zone("p1-a", at=NOW - timedelta(minutes=11)),
                 zone("p1-b", at=NOW - timedelta(minutes=12)), partition=1)  # fmt: skip
    proc = BatchProcessor(HOTSPOTS)
    out = proc.process([p0[0], p0[1], p1[0], p0[2], p1[1]], {("t", 0): 5}, NOW)
    assert out.skipped_replays == 1  # p0-old, below the stored offset 5
    # 11 minutes behind p0's newest is too late; 1 minute behind p1's newest is not.
    assert [(d.reason, d.record.partition, d.record.offset) for d in out.dead] == [
        ("too_late", 0, 6)
    ]
    assert [e.event_id for e in out.events] == ["p0-new", "p1-a", "p1-b"]
    assert (out.first_offsets, out.next_offsets) == (
        {("t", 0): 5, ("t", 1): 0},
        {("t", 0): 7, ("t", 1): 2},
    )
    later = proc.process(
        records(zone("p1-c", at=NOW - timedelta(minutes=22)), first=2, partition=1), {}, NOW
    )
    assert [d.reason for d in later.dead] == ["too_late"]  # p1's watermark carried over


def test_event_times_are_utc_index_for_index_with_the_events() -> None:
    kst = timezone(timedelta(hours=9))
    out = BatchProcessor(HOTSPOTS).process(
        records(zone("a", at=NOW.astimezone(kst)), estimate("p", at=NOW - timedelta(seconds=1))),
        {}, NOW,
    )  # fmt: skip
    assert [e.event_id for e in out.events] == ["a", "p"]
    assert out.event_times == [NOW, NOW - timedelta(seconds=1)]
    assert all(t.tzinfo is UTC for t in out.event_times)
