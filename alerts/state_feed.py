"""The Kafka input edge of the alert path: area states in whole fetches.

The alert engine reads the area-state topic, so the alerts of any state, from any
producer, come from one place (DESIGN.md). It read it through a Faust agent until
2026-12-03; at 20,000 events/s the worker publishes about 720 states a second, and
Faust's per-message path (its consumer thread, the conductor, the stream) on the loop
the worker's ingest shares did not keep up: a 심각 state waited up to 3.7 s before the
engine saw it, and in a run with a timing log added the agent fell 25 s behind while the
engine's own work was 15 % of its time (bench/alert_latency.py, docs/benchmarks.md).
Read here like the city events (streams/feed.py): aiokafka's `getmany`, a whole fetch
evaluated in one pass, its offsets committed after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)


class AreaStateFeed:
    """Area-state messages for one consumer group, a fetch at a time.

    Each worker's alert path is one member of the group, so with two workers each
    evaluates the states of its own partitions (a key's states stay in order: one key,
    one partition). A partition resumes at the group's committed offset, but never at a
    state older than `replay_max_s`: holds run in event time (alerts/rules/engine.py),
    so states replayed from long ago (a new group's first start, the topic read from its
    beginning; a worker down for hours) would hold, fire and text an episode that is
    over. Open alerts come from the database at start, and every key's current state is
    republished within `CITYPULSE_STATE_REFRESH_S`.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        client_id: str,
        *,
        session_timeout_s: float,
        heartbeat_s: float,
        replay_max_s: float,
        max_records: int = 1000,
        within_s: float = 0.5,
        observe: Callable[[Any], Awaitable[None]] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """`session_timeout_s`, `heartbeat_s`: the worker's group settings
        (WorkerSettings); `replay_max_s`: AlertSettings'. `observe`: called with the
        consumer after each fetch, empty or not (the worker reports the agent's lag per
        partition with it: how late alerts run)."""
        self.bootstrap = bootstrap
        self.topic = topic
        self.group_id = group_id
        self.client_id = client_id
        self.max_records = max_records
        self.within_s = within_s
        self.session_timeout_s = session_timeout_s
        self.heartbeat_s = heartbeat_s
        self.observe = observe
        self.replay_max_s = replay_max_s
        self.wall_clock = wall_clock  # Kafka's record timestamps: wall time, even in a drill

    async def run(self, evaluate: Callable[[Sequence[bytes]], Awaitable[None]]) -> None:
        """Hand each fetch's messages to `evaluate`, partition by partition in offset
        order, then commit their offsets; until cancelled. What `evaluate` raises stops
        the feed uncommitted: the next member of the group reads that fetch again."""
        from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(self.session_timeout_s * 1000),
            heartbeat_interval_ms=int(self.heartbeat_s * 1000),
            # A database outage makes the alert path wait; stay in the group meanwhile.
            max_poll_interval_ms=3600 * 1000,
        )
        feed = self

        class NoOldReplay(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: object) -> None:
                pass

            async def on_partitions_assigned(self, assigned: set[Any]) -> None:
                await feed._skip_old(consumer, assigned)

        await consumer.start()
        try:
            consumer.subscribe([self.topic], listener=NoOldReplay())
            while True:
                fetched = await consumer.getmany(
                    timeout_ms=int(self.within_s * 1000), max_records=self.max_records
                )
                if self.observe is not None:
                    await self.observe(consumer)
                if not fetched:
                    continue
                await evaluate(_values(fetched))
                await _commit(consumer, {tp: ms[-1].offset + 1 for tp, ms in fetched.items()})
        finally:
            await consumer.stop()

    async def _skip_old(self, consumer: Any, assigned: set[Any]) -> None:
        """Move each assigned partition past states older than `replay_max_s`."""
        if not assigned:
            return
        since_ms = int((self.wall_clock() - self.replay_max_s) * 1000)
        try:
            found = await consumer.offsets_for_times({tp: since_ms for tp in assigned})
            ends = await consumer.end_offsets(list(assigned))
        except KafkaError as exc:  # rather a few recent states missed than old ones texted
            log.warning("area-state offsets by time not found (%s): reading from the end", exc)
            await consumer.seek_to_end(*assigned)
            return
        for tp in assigned:
            at = found.get(tp)
            floor = at.offset if at is not None else ends[tp]  # none that new: the end
            committed = await consumer.committed(tp)
            if committed is None or committed < floor:
                if floor > 0:
                    log.info(
                        "%s: area states before offset %d are over %.0f s old, not replayed",
                        tp,
                        floor,
                        self.replay_max_s,
                    )
                consumer.seek(tp, floor)


def _values(fetched: dict[Any, list[Any]]) -> list[bytes]:
    return [m.value for tp in sorted(fetched, key=lambda tp: tp.partition) for m in fetched[tp]]


async def _commit(consumer: Any, offsets: dict[Any, int]) -> None:
    try:
        await consumer.commit(offsets)
    except KafkaError as exc:  # a rebalance: the partition's new owner reads them again
        log.info("area-state offset commit skipped: %s", exc)
