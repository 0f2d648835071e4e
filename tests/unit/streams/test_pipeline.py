"""The worker's batch → live state → publish path in memory: the same StatePipeline
methods the worker's feed and timers call, with a testing source and sink in place of
Kafka and PostgreSQL (after bytewax's TestingSource / TestingSink)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from citypulse.domain.area_state import AreaState
from citypulse.domain.stages import Stage
from sensors.events import PopulationEstimate, ZoneCount, encode_event
from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, BatchResult, DeadLetter, RawRecord
from streams.live import LiveStates
from streams.pipeline import StatePipeline

NOW = datetime(2026, 6, 13, 10, 0, 30, tzinfo=UTC)
HOTSPOTS = hotspots_by_code()
TOPIC = "city-events"


@dataclass
class TestingSource:
    """Raw records in fetches, partition by partition, with offsets as Kafka gives them."""

    __test__ = False
    fetches: list[list[RawRecord]] = field(default_factory=list)
    _next: dict[int, int] = field(default_factory=dict)

    def fetch(self, *values: bytes | None, partition: int = 0) -> list[RawRecord]:
        first = self._next.get(partition, 0)
        records = [RawRecord(TOPIC, partition, first + i, b"k", v) for i, v in enumerate(values)]
        self._next[partition] = first + len(values)
        self.fetches.append(records)
        return records


@dataclass
class TestingSink:
    """What the Kafka producer and the database store would have received."""

    __test__ = False
    states: list[AreaState] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    batches: list[BatchResult] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    async def send_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        self.dead.extend(dead)

    async def send_states(self, states: Sequence[AreaState]) -> None:
        self.states.extend(states)

    def write(self, batch: BatchResult) -> None:
        self.batches.append(batch)
        for key, offset in batch.next_offsets.items():
            self.offsets[key] = max(offset, self.offsets.get(key, 0))


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


def zone(eid: str, count: int, area: str = "POI009", at: datetime = NOW) -> bytes:
    return encode_event(
        ZoneCount(event_id=eid, source="test", event_time=at, ingest_time=at, area_code=area,
                  zone_id="z1", counter_id="c1", count=count, walkable_m2=100.0)
    )  # fmt: skip


def estimate(eid: str, area: str = "POI009", at: datetime = NOW) -> bytes:
    return encode_event(
        PopulationEstimate(event_id=eid, source="test", event_time=at, ingest_time=at,
                           area_code=area, people_min=1000, people_max=1200)
    )  # fmt: skip


def pipeline(
    sink: TestingSink, clock: Clock, held: dict[tuple[str, int], int] | None = None
) -> StatePipeline:
    return StatePipeline(
        BatchProcessor(HOTSPOTS),
        LiveStates(HOTSPOTS),
        sink,
        sink,
        lambda: dict(held or {}),
        refresh_every_s=4.5,
        clock=lambda: clock.now,
        monotonic=lambda: clock.mono,
    )


async def run(p: StatePipeline, fetches: Iterable[list[RawRecord]]) -> None:
    """What CityEventFeed does with each fetch: prepare, then store."""
    for records in fetches:
        await p.store_batch(await p.prepare_batch(records))


async def test_records_become_published_states_and_stored_offsets() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = pipeline(sink, clock)
    source.fetch(zone("a", 250), estimate("b"), b"{not json")
    await run(p, source.fetches)
    await p.publish_states()

    assert [(d.reason, d.record.offset) for d in sink.dead] == [("not_json", 2)]
    assert {s.key for s in sink.states} == {"POI009", "POI009/z1"}
    zone_state = next(s for s in sink.states if s.zone_id == "z1")
    assert zone_state.density_per_m2 == pytest.approx(2.5)
    assert zone_state.stage_enum == Stage.CAUTION  # 2.5/m²: past 주의's default bound
    assert sink.offsets == {(TOPIC, 0): 3}  # the dead letter is consumed too
    assert p.stored_offsets == {(TOPIC, 0): 3}


async def test_a_key_changed_by_many_batches_is_published_once_per_tick() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = pipeline(sink, clock)
    source.fetch(estimate("p"))
    for i in range(3):
        source.fetch(zone(f"z{i}", 100 + i, at=NOW + timedelta(seconds=i)))
    await run(p, source.fetches)
    await p.publish_states()
    assert sorted(s.key for s in sink.states) == ["POI009", "POI009/z1"]

    sink.states.clear()
    clock.advance(0.5)
    await p.publish_states()  # nothing changed, nothing due yet
    assert sink.states == []


async def test_a_quiet_key_is_republished_when_due() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = pipeline(sink, clock)
    source.fetch(estimate("a"))
    await run(p, source.fetches)
    await p.publish_states()
    sink.states.clear()

    clock.advance(4.0)
    await p.publish_states()
    assert sink.states == []
    clock.advance(0.5)
    await p.publish_states()
    assert [s.key for s in sink.states] == ["POI009"]


async def test_records_below_the_stored_offsets_are_replays_and_dropped() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = pipeline(sink, clock, held={(TOPIC, 0): 2})
    assert p.resume_from() == {(TOPIC, 0): 2}
    source.fetch(zone("old1", 100), zone("old2", 100), zone("new", 300))
    await run(p, source.fetches)
    stored = [r.event_id for b in sink.batches for r in b.readings]
    assert stored == ["new"]
    assert sink.dead == []


async def test_a_batch_of_only_dead_letters_publishes_nothing() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = pipeline(sink, clock)
    source.fetch(None, b"", zone("ghost", 10, area="POI999"))
    await run(p, source.fetches)
    await p.publish_states()
    assert [d.reason for d in sink.dead] == ["empty", "empty", "unknown_area"]
    assert sink.states == []
    assert sink.offsets == {(TOPIC, 0): 3}


async def test_a_key_above_normal_is_published_after_each_batch_that_changes_it() -> None:
    """Not at the next tick: an alert's hold ends on the first state past it."""
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = pipeline(sink, clock)
    await run(p, [source.fetch(zone("a", 250), estimate("b"))])  # 2.5/m²: 주의
    assert sink.states == []  # nothing published yet: a rise from normal waits for the tick
    await p.publish_states()
    assert p.elevated == {("POI009", "z1")}
    sink.states.clear()

    clock.advance(0.1)
    await run(p, [source.fetch(zone("c", 260, at=NOW + timedelta(seconds=1)))])
    assert [(s.key, s.stage_enum) for s in sink.states] == [("POI009/z1", Stage.CAUTION)]
    # The area's own state changed too, but it is normal: it waits for the tick.
    sink.states.clear()
    await p.publish_states()
    assert [s.key for s in sink.states] == ["POI009"]  # the zone was sent already


async def test_a_key_whose_state_is_normal_again_waits_for_the_tick_again() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = pipeline(sink, clock)
    p.elevated = {("POI009", None)}  # as if its last state had been above normal
    await run(p, [source.fetch(estimate("a"))])  # 1,100 people: the area is normal
    assert [(s.key, s.stage_enum) for s in sink.states] == [("POI009", Stage.NORMAL)]
    assert p.elevated == set()
    sink.states.clear()
    clock.advance(0.1)
    await run(p, [source.fetch(estimate("b", at=NOW + timedelta(seconds=1)))])
    assert sink.states == []


def ticking(sink: TestingSink, clock: Clock) -> StatePipeline:
    p = pipeline(sink, clock)
    p.tick_every_s = 0.5  # as the worker builds it (streams/worker.py)
    return p


async def test_a_batch_that_finds_the_tick_due_ends_with_one_carrying_its_events() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = ticking(sink, clock)
    await run(p, [source.fetch(estimate("a"))])  # never ticked: due
    assert [(s.key, s.people) for s in sink.states] == [("POI009", 1100)]
    sink.states.clear()

    clock.advance(0.3)
    later = NOW + timedelta(seconds=1)
    await run(p, [source.fetch(estimate("b", at=later))])
    assert sink.states == []  # 0.3 s since the tick: the change waits
    clock.advance(0.2)
    await run(p, [source.fetch(zone("c", 100, at=later))])
    # Due again: one tick, with both batches' changes, each key once.
    assert sorted(s.key for s in sink.states) == ["POI009", "POI009/z1"]
    assert p.last_tick == clock.mono


async def test_with_no_batch_the_timer_ticks_one_batch_window_late() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = ticking(sink, clock)
    await run(p, [source.fetch(estimate("a"))])
    p.changed.add(("POI009", None))  # changed since (as a fold would)
    sink.states.clear()

    clock.advance(0.6)
    await p.publish_if_due(slack_s=0.25)  # due, but a batch may still come
    assert sink.states == []
    clock.advance(0.2)
    await p.publish_if_due(slack_s=0.25)
    assert [s.key for s in sink.states] == ["POI009"]


async def test_without_a_tick_period_only_the_caller_ticks() -> None:
    sink, clock, source = TestingSink(), Clock(), TestingSource()
    p = pipeline(sink, clock)
    await run(p, [source.fetch(estimate("a"))])
    await p.publish_if_due()
    assert sink.states == []
