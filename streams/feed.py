"""The Kafka input edge of the stream worker: raw city events in whole fetches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Generic, TypeVar

from aiokafka.errors import KafkaError

from streams import kafka_records
from streams.batch import RawRecord
from streams.metrics import WorkerMetrics
from streams.settings import WorkerSettings
from streams.sink import StaleOffsets

log = logging.getLogger(__name__)
Prepared = TypeVar("Prepared")
# How long a batch waits for the fetch its own taking sends (`CityEventFeed._take_fresh`):
# a round trip to the broker from a busy loop, 5-60 ms at 20,000 events/s on this machine.
# With nothing new at the broker, it holds the fetch, and the batch goes on without it.
FRESH_FETCH_MS = 50


class CityEventFeed(Generic[Prepared]):
    """Raw city events in whole fetches, for one consumer group (the Kafka input edge).

    Two stages, overlapped: while batch N is written to the database (a thread waiting
    on PostgreSQL), batch N+1 is fetched and prepared. Writes stay in fetch order, one at
    a time, and Kafka's offsets are committed only after their batch is stored. Each
    batch is brought up to date when taken (`_take_fresh`).

    A partition assigned to this worker resumes at the offset the database holds for it
    (`resume_from`), so what another worker or an earlier run stored is never read again
    and what it did not store is read again, whatever Kafka's committed offset says.
    A store that raises `StaleOffsets` (another worker stored part of the batch) makes the
    feed drop what it holds and resume every partition from the database.
    """

    def __init__(
        self,
        bootstrap: str,
        settings: WorkerSettings,
        topic: str,
        group_id: str,
        client_id: str,
        resume_from: Callable[[], Mapping[tuple[str, int], int]],
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.settings = settings
        self.topic = topic
        self.group_id = group_id
        self.client_id = client_id
        self.resume_from = resume_from
        self.metrics = metrics or WorkerMetrics(client_id)  # default: counted, not served
        # The write in flight: its task, each partition's next offset (committed to Kafka
        # after it) and first offset (read again from there if it is refused).
        self._writing: tuple[asyncio.Task[None], dict[Any, int], dict[Any, int]] | None = None
        # First offsets of what a refused write held, for `_resume` (see there).
        self._refused: dict[Any, int] = {}
        # Held while a write is awaited: the rebalance listener and the loop both settle,
        # and neither may go on (and the loop start the next write, on the same database
        # connection) while the other still waits for the one in flight.
        self._settling = asyncio.Lock()
        self.stale_batches = 0

    async def _settle(self, consumer: Any) -> None:
        """Wait for the batch being written, then commit its offsets to Kafka."""
        async with self._settling:
            if self._writing is None:
                return
            task, offsets, firsts = self._writing
            try:
                await task
            except StaleOffsets:
                self._refused = _earliest(self._refused, firsts)
                raise
            finally:
                self._writing = None
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance; the database holds the offsets
            log.info("Kafka offset commit skipped: %s", exc)

    async def _resume(
        self, consumer: Any, partitions: Iterable[Any], dropped: Mapping[Any, int] | None = None
    ) -> None:
        """Seek each partition to the offset the database holds for it. `dropped`: the
        first offsets of records read but not stored (a refused write, the batch prepared
        meanwhile), for partitions the database holds no offset for yet: without it their
        position stays past those records, and nobody reads them again (seen in a unit
        test, 2026-12-03; a fresh partition in a batch refused during a scale-out)."""
        stored = await asyncio.to_thread(self.resume_from)
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None and dropped:
                offset = dropped.get(tp)
            if offset is not None:
                consumer.seek(tp, offset)

    async def _take_fresh(self, consumer: Any, fetched: dict[Any, list[RawRecord]]) -> None:
        """Add to `fetched` what arrived while it waited in aiokafka's buffer.

        aiokafka fetches a partition again only once its buffered records are taken, so
        what `getmany` returns was fetched just after the previous batch was taken, and
        what reached the broker while that batch was handled is still there: each batch
        was a batch old (seen 2026-12-03 at 20,000 events/s: its newest event 0.14-0.22 s
        old when taken, median, for batches handled in 0.15-0.2 s). Taking the fetch
        that draining the buffer sends brings the batch up to now (median 0.05 s), for
        one round trip. A partition whose records there do not follow on from `fetched`
        (a seek in between: a rebalance) is not merged but sought back to be read again:
        merged, a record could be in one write twice, where the store's fence cannot see
        it.
        """
        room = self.settings.batch_max_events - sum(len(ms) for ms in fetched.values())
        if room <= 0:
            return
        more = await consumer.getmany(timeout_ms=FRESH_FETCH_MS, max_records=room)
        assigned = consumer.assignment()
        for tp, ms in more.items():
            if not ms:
                continue
            held = fetched.get(tp)
            if held is None or ms[0].offset == held[-1].offset + 1:
                fetched.setdefault(tp, []).extend(ms)
            elif tp in assigned:
                consumer.seek(tp, ms[0].offset)

    async def run(
        self,
        prepare: Callable[[list[RawRecord]], Awaitable[Prepared]],
        store: Callable[[Prepared], Coroutine[Any, Any, None]],
    ) -> None:
        from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

        s = self.settings
        kafka_records.install()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            key_deserializer=kafka_records.raw_keys,  # RawRecords straight from the fetch
            group_id=self.group_id,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=s.consumer_max_fetch_bytes,
            fetch_max_bytes=4 * s.consumer_max_fetch_bytes,
            session_timeout_ms=int(s.session_timeout_s * 1000),
            heartbeat_interval_ms=int(s.group_heartbeat_s * 1000),
            # A database outage stalls the loop (the write retries); stay in the group.
            max_poll_interval_ms=3600 * 1000,
        )
        feed = self

        class ResumeFromDatabase(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: object) -> None:
                # Every member finishes this before any is assigned: the new owner reads
                # offsets that include the write in flight. A batch fetched but not yet
                # written may still follow; the store's fence settles that race.
                with contextlib.suppress(StaleOffsets):
                    await feed._settle(consumer)

            async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
                feed._refused = {}  # a rebalance resets every position: nothing to carry
                await feed._resume(consumer, assigned)

        await consumer.start()
        try:
            consumer.subscribe([self.topic], listener=ResumeFromDatabase())
            while True:
                fetched = await consumer.getmany(
                    timeout_ms=int(s.batch_within_s * 1000), max_records=s.batch_max_events
                )
                if fetched:
                    await self._take_fresh(consumer, fetched)
                await self.metrics.observe_lag(consumer)
                try:
                    if not fetched:
                        await self._settle(consumer)
                        continue
                    records = kafka_records.as_raw_records(fetched.values())
                    prepared = await prepare(records)
                    await self._settle(consumer)
                except StaleOffsets as exc:
                    self.stale_batches += 1
                    self.metrics.stale_batches.inc()
                    log.warning("batch refused (%s); resuming from the database", exc)
                    # The refused write and this fetch are both dropped: read again.
                    dropped = _earliest(self._refused, _firsts(fetched))
                    self._refused = {}
                    await self._resume(consumer, consumer.assignment(), dropped)
                    continue
                offsets = {tp: ms[-1].offset + 1 for tp, ms in fetched.items()}
                task = asyncio.create_task(store(prepared))
                self._writing = (task, offsets, _firsts(fetched))
        finally:
            if self._writing is not None:
                with contextlib.suppress(Exception):
                    await self._settle(consumer)
            await consumer.stop()


def _firsts(fetched: Mapping[Any, list[RawRecord]]) -> dict[Any, int]:
    return {tp: ms[0].offset for tp, ms in fetched.items() if ms}


def _earliest(a: Mapping[Any, int], b: Mapping[Any, int]) -> dict[Any, int]:
    out = dict(a)
    for tp, offset in b.items():
        out[tp] = min(out.get(tp, offset), offset)
    return out
