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

from streams.feed import CityEventFeed
from streams.settings import WorkerSettings


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
