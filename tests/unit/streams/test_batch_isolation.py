"""A record that fails in the store or in the fold is found, dead-lettered with the error,
and the rest of its batch is stored once with exact offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from sensors.events import CityEvent, EnvironmentReading, encode_event
from sensors.registry import hotspots_by_code
from streams.batch import (
    DEAD_LETTER_MAX_KEY,
    DEAD_LETTER_MAX_VALUE,
    BatchProcessor,
    DeadLetter,
    RawRecord,
    dead_letter_message,
    fold_isolating,
)
from streams.live import LiveStates
from streams.sink import store_or_isolate
from tests.unit.streams.memory_store import MemoryStore
from tests.unit.streams.test_batch import NOW, estimate, records, zone

HOTSPOTS = hotspots_by_code()


def environment(eid: str) -> bytes:
    return encode_event(
        EnvironmentReading(event_id=eid, source="test", event_time=NOW, ingest_time=NOW,
                           sensor_id="s1", area_code="POI009", pm10_ugm3=10.0)
    )  # fmt: skip


def batch_of(n: int, env: tuple[int, ...] = ()) -> list[RawRecord]:
    values = [environment(f"e{i}") if i in env else zone(f"r{i}", count=100 + i) for i in range(n)]
    values.append(b"{broken")  # a decode dead letter rides along
    return records(*values, first=10)


def store_all(store: MemoryStore, result: object) -> list[DeadLetter]:
    """What the worker's store step does: isolate until the batch is stored."""
    sent: list[DeadLetter] = []
    while poison := store_or_isolate(store, result):  # type: ignore[arg-type]
        sent.extend(poison)
    return sent


@pytest.mark.parametrize("bad", [{"r0"}, {"r7"}, {"r3", "r11"}, {"e5"}, {"r0", "e5", "r12"}])
def test_records_refused_by_the_store_are_dead_lettered_and_the_rest_stored_once(
    bad: set[str],
) -> None:
    result = BatchProcessor(HOTSPOTS).process(batch_of(13, env=(5,)), {}, NOW)
    store = MemoryStore(refuse=bad)

    sent = store_all(store, result)

    assert sorted(d.detail.split(" ")[2] for d in sent) == sorted(bad)  # "CheckViolation: row X"
    assert {d.reason for d in sent} == {"store_failed"}
    assert all(d.source == "test" for d in sent)
    want = [f"r{i}" for i in range(13) if i != 5 and f"r{i}" not in bad]
    assert store.readings == want  # each once, in order
    assert store.environment == ([] if "e5" in bad else ["e5"])
    assert store.writes == 1
    assert store.offsets == {("t", 0): 24}  # 14 records from offset 10: all consumed
    assert store.dead_counts == {"not_json": 1, "store_failed": len(bad)}
    # the partial of the bucket holds the stored readings only
    (part,) = result.stats.values()
    assert part.samples == len(want)
    assert part.people_sum == sum(100 + int(e[1:]) for e in want)
    assert all(d.record not in result.reading_records for d in sent)


def test_a_failure_no_record_causes_is_raised_not_blamed_on_the_records() -> None:
    result = BatchProcessor(HOTSPOTS).process(batch_of(4), {}, NOW)

    class Broken(MemoryStore):
        def _check(self, batch: object) -> None:
            raise psycopg.errors.UndefinedTable("relation crowd_readings does not exist")

    store = Broken()
    with pytest.raises(psycopg.errors.UndefinedTable):
        store_or_isolate(store, result)
    assert store.readings == [] and result.dead[0].reason == "not_json"  # nothing taken out


def test_the_database_being_down_is_not_a_record_fault() -> None:
    result = BatchProcessor(HOTSPOTS).process(batch_of(2), {}, NOW)

    class Down(MemoryStore):
        def write(self, batch: object) -> None:
            raise psycopg.OperationalError("connection refused")

    with pytest.raises(psycopg.OperationalError):
        store_or_isolate(Down(), result)
    assert len(result.readings) == 2


def test_bisection_needs_few_probes() -> None:
    result = BatchProcessor(HOTSPOTS).process(batch_of(1000), {}, NOW)
    store = MemoryStore(refuse={"r617"})
    store_all(store, result)
    assert store.probes <= 2 * 10 + 2  # log2(1000) levels, two halves each, plus the skeleton
    assert len(store.readings) == 999


def test_an_event_that_fails_to_fold_is_dead_lettered_and_not_stored() -> None:
    recs = records(zone("a"), estimate("p"), zone("b", count=150), zone("c", count=160))
    result = BatchProcessor(HOTSPOTS).process(recs, {}, NOW)
    live = LiveStates(HOTSPOTS)
    real_apply = live.apply

    def apply(events: list[CityEvent], times: list[datetime]) -> set[object]:
        if any(e.event_id == "b" for e in events):
            raise OverflowError("math range error")
        return real_apply(events, times)  # type: ignore[return-value]

    changed = fold_isolating(apply, result)

    assert [(d.reason, d.record.offset, d.detail) for d in result.dead] == [
        ("fold_failed", 2, "OverflowError: math range error")
    ]
    assert [e.event_id for e in result.events] == ["a", "p", "c"]
    assert [r.event_id for r in result.readings] == ["a", "p", "c"]
    assert ("POI009", "z1") in changed and ("POI009", None) in changed
    store = MemoryStore()
    store_all(store, result)
    assert store.readings == ["a", "p", "c"] and store.offsets == {("t", 0): 4}
    assert store.dead_counts == {"fold_failed": 1}


def test_a_fold_that_works_changes_nothing() -> None:
    result = BatchProcessor(HOTSPOTS).process(records(zone("a"), zone("b")), {}, NOW)
    before = (list(result.readings), dict(result.stats))
    assert fold_isolating(LiveStates(HOTSPOTS).apply, result)
    assert (result.readings, result.stats) == before and result.dead == []


def test_a_subset_of_everything_rebuilds_the_same_partials() -> None:
    later = NOW + timedelta(minutes=1)
    recs = records(zone("a"), estimate("p"), zone("b", count=30), zone("c", at=later),
                   zone("late", at=NOW - timedelta(minutes=30)), environment("e"))  # fmt: skip
    result = BatchProcessor(HOTSPOTS).process(recs, {}, later + timedelta(seconds=1))
    assert [d.reason for d in result.dead] == ["too_late"]  # stored raw, not in a window
    same = result.subset(lambda rec: True)
    assert same.stats == result.stats
    assert same.readings == result.readings and same.environment == result.environment
    assert same.events == result.events


def test_an_oversized_record_is_dead_lettered_with_a_cut_body_that_says_so() -> None:
    value, key = b"x" * (1024 * 1024 - 100), b"k" * 5000
    result = BatchProcessor(HOTSPOTS).process([RawRecord("t", 0, 0, key, value)], {}, NOW)
    (d,) = result.dead
    got_key, got_value, headers = dead_letter_message(d)
    assert d.reason == "oversized"
    assert got_value == value[:DEAD_LETTER_MAX_VALUE] and got_key == key[:DEAD_LETTER_MAX_KEY]
    h = dict(headers)
    assert (
        h["truncated"] == f"value {len(value)} bytes, first {DEAD_LETTER_MAX_VALUE} kept".encode()
    )
    assert h["key_truncated"].startswith(b"key 5000 bytes")
    assert h["reason"] == b"oversized" and h["origin"] == b"t/0/0"
    # aiokafka's default max_request_size, with room for the record's framing
    assert (
        len(got_value) + len(got_key) + sum(len(k) + len(v) for k, v in headers) < 1024 * 1024 // 2
    )


def test_a_small_record_is_dead_lettered_whole() -> None:
    rec = RawRecord("t", 1, 5, b"POI009", b"{broken")
    key, value, headers = dead_letter_message(DeadLetter(rec, "not_json", "bad", ""))
    assert (key, value) == (b"POI009", b"{broken")
    assert [k for k, _ in headers] == ["reason", "detail", "source", "origin"]


def test_start_of_the_hour_fixture_is_utc() -> None:
    assert NOW.tzinfo is UTC  # the helpers above build events at NOW
