"""streams/feed.py: one write at a time, whoever settles it; a batch up to date when
it is taken.

Seen 2026-12-03 (bench/ingest.py, two workers started on a backlog): the rebalance
listener settled the write in flight while the loop was preparing the next batch; the
loop then found nothing to settle and started its write on the same database connection
while the first still ran in its thread, and psycopg refused both ("COPY cannot be used
in pipeline mode"), which stopped the worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.batch import RawRecord
from streams.feed import CityEventFeed
from streams.settings import WorkerSettings
from streams.sink import StaleOffsets

TOPIC = "city-events.v1"


class Consumer:
    def __init__(self) -> None:
        self.commits: list[dict[Any, int]] = []

    async def commit(self, offsets: dict[Any, int]) -> None:
        self.commits.append(offsets)


def _feed() -> CityEventFeed[None]:
    return CityEventFeed("localhost:1", WorkerSettings(), "city-events.v1", "g", "c", dict)


def test_a_second_settle_waits_for_the_write_the_first_is_waiting_for() -> None:
    async def run() -> tuple[bool, list[dict[Any, int]]]:
        feed, consumer = _feed(), Consumer()
        release = asyncio.Event()

        async def write() -> None:
            await release.wait()

        first = asyncio.create_task(write())
        feed._writing = (first, {"tp": 5}, {"tp": 0})
        listener = asyncio.create_task(feed._settle(consumer))  # the rebalance listener
        await asyncio.sleep(0)  # it now awaits the write
        loop_settle = asyncio.create_task(feed._settle(consumer))  # the loop, next batch
        await asyncio.sleep(0.05)
        returned_early = loop_settle.done()
        release.set()
        await asyncio.gather(listener, loop_settle)
        return returned_early or not first.done(), consumer.commits

    returned_early, commits = asyncio.run(run())
    assert not returned_early  # the loop may not start its write before the first ends
    assert commits == [{"tp": 5}]  # committed once, after the write


def test_a_failed_write_is_settled_once_and_leaves_nothing_in_flight() -> None:
    async def run() -> tuple[list[BaseException | None], bool, list[dict[Any, int]]]:
        feed, consumer = _feed(), Consumer()

        async def write() -> None:
            await asyncio.sleep(0.01)
            raise RuntimeError("refused")

        feed._writing = (asyncio.create_task(write()), {"tp": 1}, {"tp": 0})
        results = await asyncio.gather(
            feed._settle(consumer), feed._settle(consumer), return_exceptions=True
        )
        return (
            [r if isinstance(r, BaseException) else None for r in results],
            feed._writing is None,
            consumer.commits,
        )

    results, cleared, commits = asyncio.run(run())
    assert [type(r) for r in results] == [RuntimeError, type(None)]
    assert cleared
    assert commits == []


class ScriptedConsumer:
    """aiokafka's consumer as the feed's `run` uses it: partitions whose records become
    available as the test publishes them, positions that `seek` moves back."""

    def __init__(self, **_: Any) -> None:
        self.available: dict[Any, int] = {}
        self.position_of: dict[Any, int] = {}
        self.seeks: list[tuple[Any, int]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def subscribe(self, topics: list[str], listener: Any) -> None:
        pass

    def assignment(self) -> set[Any]:
        return set(self.available)

    def highwater(self, tp: Any) -> int | None:
        return self.available.get(tp)

    async def position(self, tp: Any) -> int:
        return self.position_of.get(tp, 0)

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.position_of[tp] = offset

    async def commit(self, offsets: dict[Any, int]) -> None:
        pass

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[RawRecord]]:
        waited = 0.0
        while True:  # as aiokafka: what is there, else what arrives within the timeout
            out: dict[Any, list[RawRecord]] = {}
            for tp in sorted(self.available, key=lambda t: t.partition):
                start, end = self.position_of.get(tp, 0), self.available[tp]
                if start < end:
                    self.position_of[tp] = end
                    out[tp] = [RawRecord(tp.topic, tp.partition, o, b"k", b"{}")
                               for o in range(start, end)]  # fmt: skip
            if out:
                return out
            if waited >= timeout_ms / 1000:
                return {}
            await asyncio.sleep(0.005)
            waited += 0.005


def test_a_refused_write_leaves_nothing_unread_in_partitions_the_database_has_no_offset_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A batch of partitions 0 and 2 is refused: another worker stored partition 0 of it
    # meanwhile. Partition 2's records in it, and what the feed prepared during that
    # write (partition 1's first records), are dropped with it and must be read again;
    # the database holds no offset for partitions 1 and 2 to resume from.
    import aiokafka

    p0, p1, p2 = (TopicPartition(TOPIC, n) for n in (0, 1, 2))
    consumer = ScriptedConsumer()
    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", lambda **kw: consumer)
    stored_by_other: dict[tuple[str, int], int] = {}
    stored: list[tuple[int, int]] = []
    first_write = asyncio.Event()
    refuse = asyncio.Event()

    async def prepare(records: list[RawRecord]) -> list[RawRecord]:
        return records

    async def store(batch: list[RawRecord]) -> None:
        if not first_write.is_set():
            first_write.set()
            consumer.available[p1] = 2  # arrives while this write runs
            await refuse.wait()
            stored_by_other[(p0.topic, 0)] = 3
            raise StaleOffsets("another worker stored partition 0")
        stored.extend((r.partition, r.offset) for r in batch)

    async def run() -> None:
        feed: CityEventFeed[list[RawRecord]] = CityEventFeed(
            "localhost:1", WorkerSettings(), TOPIC, "g", "c", lambda: dict(stored_by_other)
        )
        consumer.available = {p0: 3, p1: 0, p2: 2}
        task = asyncio.create_task(feed.run(prepare, store))
        await asyncio.wait_for(first_write.wait(), 5)
        for _ in range(100):  # the feed fetches it and prepares it meanwhile
            if consumer.position_of.get(p1) == 2:
                break
            await asyncio.sleep(0.01)
        refuse.set()
        for _ in range(200):
            if (1, 1) in stored and (2, 1) in stored:
                break
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())
    # Partition 0's records were stored by the other worker; 1 and 2 read again, once.
    assert sorted(stored) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    # Once, after the refusal: partition 0 to the database's offset, 1 and 2 to what was
    # dropped of them.
    assert sorted((tp.partition, o) for tp, o in consumer.seeks) == [(0, 3), (1, 0), (2, 0)]


async def _until(condition: Any, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


class Recorder:
    """prepare and store for `CityEventFeed.run`: what was stored, in order, and whether
    two writes ever ran at once (they share one database connection)."""

    def __init__(self, write_s: list[float] | None = None) -> None:
        self.stored: list[tuple[int, int]] = []
        self.writing = 0
        self.overlapped = False
        self.write_s = write_s or []

    async def prepare(self, records: list[RawRecord]) -> list[RawRecord]:
        return records

    async def store(self, batch: list[RawRecord]) -> None:
        self.writing += 1
        self.overlapped |= self.writing > 1
        try:
            await asyncio.sleep(self.write_s.pop(0) if self.write_s else 0)
            self.stored.extend((r.partition, r.offset) for r in batch)
        finally:
            self.writing -= 1


class CommittingConsumer(ScriptedConsumer):
    """With the commits kept, and what was stored when each came."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self.commits: list[tuple[dict[Any, int], list[tuple[int, int]]]] = []

    async def commit(self, offsets: dict[Any, int]) -> None:
        self.commits.append((dict(offsets), list(self.recorder.stored)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.floats(0, 0.01)),
        min_size=1,
        max_size=12,
    ),
)
def test_writes_are_in_order_one_at_a_time_and_commits_follow_them(
    steps: list[tuple[int, int, float]],
) -> None:
    # Records arrive on three partitions in random steps, writes take random times:
    # each record is stored once, each partition in offset order, no two writes at once,
    # and no offset committed before its record was stored.
    import aiokafka

    tps = [TopicPartition(TOPIC, n) for n in range(3)]
    recorder = Recorder(write_s=[delay for _, _, delay in steps])
    consumer = CommittingConsumer(recorder)
    total = sum(count for _, count, _ in steps)

    async def run() -> None:
        feed: CityEventFeed[list[RawRecord]] = CityEventFeed(
            "localhost:1", WorkerSettings(), TOPIC, "g", "c", dict
        )
        consumer.available = {tp: 0 for tp in tps}
        task = asyncio.create_task(feed.run(recorder.prepare, recorder.store))
        for partition, count, delay in steps:
            consumer.available[tps[partition]] += count
            await asyncio.sleep(delay / 2)
        await _until(lambda: len(recorder.stored) == total)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(aiokafka, "AIOKafkaConsumer", lambda **kw: consumer)
        asyncio.run(run())
    assert not recorder.overlapped
    for tp in tps:
        mine = [o for p, o in recorder.stored if p == tp.partition]
        assert mine == list(range(consumer.available[tp]))
    for offsets, stored_then in consumer.commits:
        assert all((tp.partition, o - 1) in stored_then for tp, o in offsets.items())


class PrefetchingConsumer(ScriptedConsumer):
    """As aiokafka fetches: one fetch ahead, sent when the buffer is taken, held by the
    broker until a record is there to return (a long poll)."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer: dict[Any, list[RawRecord]] = {}
        self.arrived = asyncio.Event()
        self._fetch: asyncio.Task[None] | None = None

    def publish(self, tp: Any, upto: int) -> None:
        self.available[tp] = upto
        self.arrived.set()

    async def _fetch_ahead(self) -> None:
        while True:
            self.arrived.clear()
            out: dict[Any, list[RawRecord]] = {}
            for tp, end in self.available.items():
                start = self.position_of.get(tp, 0)
                if start < end:
                    self.position_of[tp] = end
                    out[tp] = [RawRecord(tp.topic, tp.partition, o, b"k", b"{}")
                               for o in range(start, end)]  # fmt: skip
            if out:
                await asyncio.sleep(0.001)  # the round trip
                self.buffer = out
                return
            await self.arrived.wait()

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[RawRecord]]:
        if self._fetch is None:
            self._fetch = asyncio.create_task(self._fetch_ahead())
        if not self.buffer:
            await asyncio.wait([self._fetch], timeout=timeout_ms / 1000)
        out, self.buffer = self.buffer, {}
        if out or self._fetch.done():
            self._fetch = asyncio.create_task(self._fetch_ahead())  # taking it sends the next
        return out


def test_a_batch_takes_what_arrived_while_it_waited_in_the_fetch_buffer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Records 3-5 arrive one by one while batch 0-2 is prepared. The fetch sent when
    # 0-2 were taken returns at the first of them; without taking the fetch after it,
    # 4 and 5 would wait at the broker for the batch after (an event a batch older).
    import aiokafka

    p0 = TopicPartition(TOPIC, 0)
    consumer = PrefetchingConsumer()
    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", lambda **kw: consumer)
    prepared: list[list[int]] = []

    async def prepare(records: list[RawRecord]) -> None:
        prepared.append([r.offset for r in records])
        if len(prepared) == 1:
            for n in (4, 5, 6):
                consumer.publish(p0, n)
                await asyncio.sleep(0.01)

    async def store(_: None) -> None:
        pass

    async def run() -> None:
        feed: CityEventFeed[None] = CityEventFeed(
            "localhost:1", WorkerSettings(), TOPIC, "g", "c", dict
        )
        consumer.publish(p0, 3)
        task = asyncio.create_task(feed.run(prepare, store))
        await _until(lambda: sum(map(len, prepared)) == 6)
        task.cancel()

    asyncio.run(run())
    assert prepared == [[0, 1, 2], [3, 4, 5]]


class FreshFetch:
    """A consumer whose next `getmany` returns `more`."""

    def __init__(self, more: dict[Any, list[RawRecord]], assigned: set[Any]) -> None:
        self.more, self.assigned = more, assigned
        self.seeks: list[tuple[Any, int]] = []
        self.asked: list[int] = []

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[RawRecord]]:
        self.asked.append(max_records)
        return self.more

    def assignment(self) -> set[Any]:
        return self.assigned

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))


def _records(tp: TopicPartition, offsets: range) -> list[RawRecord]:
    return [RawRecord(tp.topic, tp.partition, o, b"k", b"{}") for o in offsets]


def test_a_fresh_fetch_that_does_not_follow_on_is_read_again_not_merged() -> None:
    # Between the two fetches a rebalance sought partition 0 back to the database's
    # offset (100) and moved partition 2 away: merged, partition 0's records 100-149
    # would be in one write twice, where the store's fence cannot see them.
    p0, p1, p2 = (TopicPartition(TOPIC, n) for n in (0, 1, 2))
    fetched = {p0: _records(p0, range(100, 200)), p2: _records(p2, range(5))}
    consumer = FreshFetch(
        {p0: _records(p0, range(100, 150)), p1: _records(p1, range(10)),
         p2: _records(p2, range(7, 9))},
        assigned={p0, p1},
    )  # fmt: skip
    asyncio.run(_feed()._take_fresh(consumer, fetched))
    assert [r.offset for r in fetched[p0]] == list(range(100, 200))
    assert [r.offset for r in fetched[p1]] == list(range(10))
    assert [r.offset for r in fetched[p2]] == list(range(5))
    assert consumer.seeks == [(p0, 100)]  # read again; partition 2 is not this worker's


def test_a_fresh_fetch_that_follows_on_is_merged_up_to_the_batch_limit() -> None:
    p0 = TopicPartition(TOPIC, 0)
    fetched = {p0: _records(p0, range(10))}
    consumer = FreshFetch({p0: _records(p0, range(10, 15))}, assigned={p0})
    asyncio.run(_feed()._take_fresh(consumer, fetched))
    assert [r.offset for r in fetched[p0]] == list(range(15))
    assert consumer.asked == [WorkerSettings().batch_max_events - 10]
    full = {p0: _records(p0, range(WorkerSettings().batch_max_events))}
    untouched = FreshFetch({p0: _records(p0, range(10))}, {p0})
    asyncio.run(_feed()._take_fresh(untouched, full))
    assert untouched.asked == []  # a full batch does not wait for more
