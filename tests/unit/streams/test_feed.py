"""streams/feed.py: one write at a time, whoever settles it.

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
