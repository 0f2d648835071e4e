"""streams/feed.py: one write at a time, whoever settles it; fetches prepared (folded into
the live state) while a write runs, then written together, within `batch_max_events`.

Seen 2026-12-03 (bench/ingest.py, two workers started on a backlog): the rebalance
listener settled the write in flight while the loop was preparing the next batch; the
loop then found nothing to settle and started its write on the same database connection
while the first still ran in its thread, and psycopg refused both ("COPY cannot be used
in pipeline mode"), which stopped the worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition

from streams.batch import RawRecord
from streams.feed import CityEventFeed
from streams.settings import WorkerSettings
from streams.sink import StaleOffsets

TP = TopicPartition("city-events.v1", 0)


class Consumer:
    """What the feed's loop asks of aiokafka's consumer: scripted fetches (each cut to
    `max_records`, the rest kept for the next call), offset commits, seeks."""

    def __init__(self, *fetches: int) -> None:
        self.commits: list[dict[Any, int]] = []
        self.fetches = list(fetches)  # records per fetch, offsets rising from 0
        self.next_offset = 0
        self.asked: list[int] = []  # max_records of each getmany that returned records
        self.seeks: list[tuple[Any, int]] = []

    async def commit(self, offsets: dict[Any, int]) -> None:
        self.commits.append(offsets)

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[RawRecord]]:
        if not self.fetches:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        self.asked.append(max_records)
        n = min(self.fetches[0], max_records)
        if n < self.fetches[0]:
            self.fetches[0] -= n
        else:
            self.fetches.pop(0)
        first, self.next_offset = self.next_offset, self.next_offset + n
        return {
            TP: [RawRecord(TP.topic, TP.partition, o, b"k", b"{}") for o in range(first, first + n)]
        }

    def assignment(self) -> set[Any]:
        return {TP}

    def highwater(self, tp: Any) -> int | None:
        return None

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))
        if offset < self.next_offset:  # what was fetched from there comes again
            self.fetches.insert(0, self.next_offset - offset)
            self.next_offset = offset


def _feed() -> CityEventFeed[None]:
    return CityEventFeed("localhost:1", WorkerSettings(), "city-events.v1", "g", "c", dict)


class Run:
    """The feed's loop over a scripted consumer; prepared batches are their offsets, and
    each write waits for `release` until `blocking` is cleared."""

    def __init__(self, consumer: Consumer, max_events: int = 20_000) -> None:
        self.consumer = consumer
        self.feed: CityEventFeed[list[int]] = CityEventFeed(
            "localhost:1", WorkerSettings(batch_max_events=max_events), TP.topic, "g", "c",
            lambda: {(TP.topic, TP.partition): 0},
        )  # fmt: skip
        self.prepared: list[list[int]] = []
        self.writes: list[list[int]] = []
        self.release = asyncio.Event()
        self.refuse_first = False

    async def prepare(self, records: list[RawRecord]) -> list[int]:
        self.prepared.append([r.offset for r in records])
        return self.prepared[-1]

    async def store(self, batch: list[int]) -> None:
        self.writes.append(batch)
        await self.release.wait()
        if self.refuse_first and len(self.writes) == 1:
            raise StaleOffsets("another worker stored these")

    @staticmethod
    def merge(parts: list[list[int]]) -> list[int]:
        return [o for part in parts for o in part]

    async def until(self, done: Any, timeout_s: float = 5.0) -> None:
        for _ in range(int(timeout_s / 0.005)):
            if done():
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the feed did not get there")

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(
            self.feed.drain(self.consumer, self.prepare, self.store, self.merge)
        )


def test_fetches_are_prepared_while_a_write_runs_then_written_as_one() -> None:
    async def run() -> Run:
        r = Run(Consumer(3, 2, 2))
        task = r.start()
        await r.until(lambda: len(r.prepared) == 3)
        assert r.writes == [[0, 1, 2]]  # the first write still runs: nothing else written
        assert r.consumer.commits == []  # nor committed
        r.release.set()
        await r.until(lambda: len(r.consumer.commits) == 2)
        task.cancel()
        return r

    r = asyncio.run(run())
    assert r.prepared == [[0, 1, 2], [3, 4], [5, 6]]
    assert r.writes == [[0, 1, 2], [3, 4, 5, 6]]  # in fetch order, the two merged
    assert r.consumer.commits == [{TP: 3}, {TP: 7}]  # each after its write


def test_what_is_prepared_and_not_written_stays_within_batch_max_events() -> None:
    async def run() -> Run:
        r = Run(Consumer(3, 2, 3, 1), max_events=4)
        task = r.start()
        await r.until(lambda: sum(map(len, r.prepared)) == 7)
        await asyncio.sleep(0.1)  # time to fetch more, were it allowed
        held = sum(map(len, r.prepared)) - len(r.writes[0])
        assert held == 4 and r.consumer.fetches == [1, 1]  # full: the rest not fetched
        r.release.set()
        await r.until(lambda: r.consumer.commits[-1:] == [{TP: 9}])
        task.cancel()
        return r

    r = asyncio.run(run())
    # While the first write ran: the whole bound, then what was left of it.
    assert r.consumer.asked[:3] == [4, 4, 2]
    assert max(r.consumer.asked) <= 4
    assert r.writes[:2] == [[0, 1, 2], [3, 4, 5, 6]]
    assert [o for w in r.writes for o in w] == list(range(9))  # each once, in order


def test_a_refused_write_drops_what_was_prepared_after_it_and_resumes() -> None:
    async def run() -> Run:
        r = Run(Consumer(3, 2))
        r.refuse_first = True
        task = r.start()
        await r.until(lambda: len(r.prepared) == 2)
        r.release.set()
        await r.until(lambda: bool(r.consumer.seeks))
        await asyncio.sleep(0.1)
        task.cancel()
        return r

    r = asyncio.run(run())
    assert r.consumer.seeks == [(TP, 0)]  # read again from what the database holds
    # [3, 4], prepared after the refused write, is not written: all of it comes again.
    assert r.writes == [[0, 1, 2], [0, 1, 2, 3, 4]]
    assert r.feed.stale_batches == 1


def test_a_second_settle_waits_for_the_write_the_first_is_waiting_for() -> None:
    async def run() -> tuple[bool, list[dict[Any, int]]]:
        feed, consumer = _feed(), Consumer()
        release = asyncio.Event()

        async def write() -> None:
            await release.wait()

        first = asyncio.create_task(write())
        feed._writing = (first, {"tp": 5})
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

        feed._writing = (asyncio.create_task(write()), {"tp": 1})
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


def test_after_a_seek_back_what_was_prepared_before_it_is_not_written_with_its_re_read() -> None:
    # A rebalance gives the partition back to this worker while [3, 4] waits for the write
    # of [0, 1, 2]: it resumes from the database's offset (0, that write not yet done) and
    # reads 0-4 again. Merged with what was prepared before, one write would hold 3 and 4
    # twice; the fence, which compares a batch with the stored offsets, cannot see that.
    async def run() -> Run:
        r = Run(Consumer(3, 2))
        task = r.start()
        await r.until(lambda: len(r.prepared) == 2)
        await r.feed._resume(r.consumer, [TP])  # as on_partitions_assigned does
        await r.until(lambda: len(r.prepared) == 3)
        r.release.set()
        await r.until(lambda: len(r.consumer.commits) == 2)
        task.cancel()
        return r

    r = asyncio.run(run())
    assert r.prepared == [[0, 1, 2], [3, 4], [0, 1, 2, 3, 4]]
    assert r.writes == [[0, 1, 2], [0, 1, 2, 3, 4]]  # each write without a repeat
