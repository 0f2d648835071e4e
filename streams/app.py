"""The Faust application of the stream worker (`faust -A streams.app worker`) and its
Kafka input edge, `CityEventFeed`.

Everything is configured from CITYPULSE_* variables so that tests and parallel stacks run
on their own topics, consumer group and database schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Generic, TypeVar

import faust
from aiokafka.errors import KafkaError

from citypulse.logs import worker_logging_config
from streams.batch import RawRecord
from streams.metrics import WorkerMetrics
from streams.settings import WorkerSettings
from streams.sink import StaleOffsets

log = logging.getLogger(__name__)
settings = WorkerSettings()
Prepared = TypeVar("Prepared")


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


app = faust.App(
    f"{settings.topic_prefix}-worker",
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",  # the database is the system of record, not Faust tables
    autodiscover=False,
    web_enabled=False,
    # `faust worker` turns its web server on anyway (unless --without-web); on a fixed
    # port (6066) a second worker on the machine would fail to start.
    web_port=_unused_port(),
    web_bind="127.0.0.1",
    producer_acks=-1,
    producer_linger_ms=5,
    # A state tick sends a state per changed key (about 1 KB each, 50 KB per partition for
    # the whole city). aiokafka's 16 KB default batches made each tick wait on several
    # broker round trips per partition: 1.3 s per tick at 5,000 events/s, not 0.5.
    producer_max_batch_size=512 * 1024,
    broker_commit_every=1000,
    broker_commit_interval=1.0,
    consumer_auto_offset_reset="earliest",
    broker_session_timeout=settings.session_timeout_s,
    broker_heartbeat_interval=settings.group_heartbeat_s,
    topic_allow_declare=False,  # topics are declared in citypulse/topics.py
    topic_disable_leader=True,
    logging_config=worker_logging_config(settings.log_format),  # CITYPULSE_LOG_FORMAT=json
)


class CityEventFeed(Generic[Prepared]):
    """Raw city events in whole fetches, for one consumer group (the Kafka input edge).

    Two stages, overlapped: while batch N is written to the database (a thread waiting
    on PostgreSQL), batch N+1 is fetched and prepared. Writes stay in fetch order, one at
    a time, and Kafka's offsets are committed only after their batch is stored.

    A partition assigned to this worker resumes at the offset the database holds for it
    (`resume_from`), so what another worker or an earlier run stored is never read again
    and what it did not store is read again, whatever Kafka's committed offset says.
    A store that raises `StaleOffsets` (another worker stored part of the batch) makes the
    feed drop what it holds and resume every partition from the database.
    """

    def __init__(
        self,
        settings: WorkerSettings,
        topic: str,
        group_id: str,
        resume_from: Callable[[], Mapping[tuple[str, int], int]],
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.group_id = group_id
        self.resume_from = resume_from
        self._writing: tuple[asyncio.Task[None], dict[Any, int]] | None = None
        self.stale_batches = 0
        self.metrics = metrics or WorkerMetrics(settings.worker_id)  # default: not served

    async def _settle(self, consumer: Any) -> None:
        """Wait for the batch being written, then commit its offsets to Kafka."""
        if self._writing is None:
            return
        task, offsets = self._writing
        self._writing = None
        await task
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance; the database holds the offsets
            log.info("Kafka offset commit skipped: %s", exc)

    async def _resume(self, consumer: Any, partitions: Iterable[Any]) -> None:
        stored = await asyncio.to_thread(self.resume_from)
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition))
            if offset is not None:
                consumer.seek(tp, offset)

    async def run(
        self,
        prepare: Callable[[list[RawRecord]], Awaitable[Prepared]],
        store: Callable[[Prepared], Coroutine[Any, Any, None]],
    ) -> None:
        from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

        s = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=self.group_id,
            client_id=f"{self.group_id}-{s.worker_id}",
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
                await feed._resume(consumer, assigned)

        await consumer.start()
        try:
            consumer.subscribe([self.topic], listener=ResumeFromDatabase())
            while True:
                fetched = await consumer.getmany(
                    timeout_ms=int(s.batch_within_s * 1000), max_records=s.batch_max_events
                )
                await self.metrics.observe_lag(consumer)
                try:
                    if not fetched:
                        await self._settle(consumer)
                        continue
                    records = [
                        RawRecord(m.topic, m.partition, m.offset, m.key, m.value)
                        for messages in fetched.values()
                        for m in messages
                    ]
                    prepared = await prepare(records)
                    await self._settle(consumer)
                except StaleOffsets as exc:
                    self.stale_batches += 1
                    self.metrics.stale_batches.inc()
                    log.warning("batch refused (%s); resuming from the database", exc)
                    await self._resume(consumer, consumer.assignment())
                    continue
                offsets = {tp: ms[-1].offset + 1 for tp, ms in fetched.items()}
                self._writing = (asyncio.create_task(store(prepared)), offsets)
        finally:
            if self._writing is not None:
                with contextlib.suppress(Exception):
                    await self._settle(consumer)
            await consumer.stop()


# aiokafka logs at debug per request; with the root level unset each call builds a record.
logging.getLogger("aiokafka").setLevel(logging.INFO)

# A batch allocates tens of thousands of short-lived objects; the default young-generation
# threshold (700) runs the collector hundreds of times per batch for nothing.
gc.set_threshold(50_000, 20, 20)

# Imported for their side effect of registering tasks, timers and agents on `app`.
from streams import agents  # noqa: E402, F401, I001
from alerts import agents as alert_agents  # noqa: E402, F401
