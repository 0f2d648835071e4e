"""The worker's path from raw records to published states, without Kafka or a database.

batch (validate, dead-letter) → live state (fold) → store (offsets with the data) →
publish (changed and due states). The worker runs it with the Kafka producer and the
PostgreSQL store as its edges (streams/agents.py); unit tests run the same methods with
an in-memory source and sink (tests/unit/streams/test_pipeline.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from citypulse.domain.area_state import AreaState
from streams.batch import BatchProcessor, BatchResult, DeadLetter, RawRecord, fold_isolating
from streams.live import Key, LiveStates, PublishLedger
from streams.metrics import WorkerMetrics
from streams.sink import ProbingStore, store_or_isolate


class Outlet(Protocol):
    """Where dead letters and states go (the Kafka producer in the worker)."""

    async def send_dead_letters(self, dead: Sequence[DeadLetter]) -> None: ...

    async def send_states(self, states: Sequence[AreaState]) -> None: ...


BatchWriter = ProbingStore  # stores a batch and its offsets in one transaction (sink.py)


class StatePipeline:
    """One worker's batch → live state → publish path and the state it keeps between
    batches: the live trackers, the keys changed since the last tick, and the offsets the
    database holds per partition (records below them are replays, dropped uncounted)."""

    def __init__(
        self,
        processor: BatchProcessor,
        live: LiveStates,
        outlet: Outlet,
        writer: BatchWriter,
        read_offsets: Callable[[], Mapping[tuple[str, int], int]],
        refresh_every_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        metrics: WorkerMetrics | None = None,
        tick_every_s: float | None = None,
    ) -> None:
        """`tick_every_s`: a batch that finds the last state tick that long ago ends with
        one (`publish_if_due`); None leaves every tick to the caller (`publish_states`)."""
        self.processor = processor
        self.live = live
        self.outlet = outlet
        self.writer = writer
        self.read_offsets = read_offsets
        self.refresh_every_s = refresh_every_s
        self.clock = clock
        self.monotonic = monotonic
        self.metrics = metrics or WorkerMetrics("unserved")  # default: counted, not served
        self.stored_offsets: dict[tuple[str, int], int] = {}
        self.changed: set[Key] = set()  # published by the next tick, at most once per key
        # Keys whose last published state was above normal: published after each batch
        # that changes them (`publish_elevated`). Bounded by the registry's keys.
        self.elevated: set[Key] = set()
        self.ledger = PublishLedger()
        self.tick_every_s = tick_every_s
        self.last_tick = -float("inf")  # monotonic time of the last tick

    def resume_from(self) -> dict[tuple[str, int], int]:
        """The offsets the database holds; the feed seeks its partitions there."""
        held = dict(self.read_offsets())
        self.stored_offsets.clear()
        self.stored_offsets.update(held)
        return held

    def _ingest(self, records: list[RawRecord]) -> BatchResult:
        return self.processor.process(records, self.stored_offsets, self.clock())

    async def prepare_batch(self, records: list[RawRecord]) -> BatchResult:
        """Validate, dead-letter and fold into live state; storing follows in `store_batch`."""
        started = time.perf_counter()
        result = await asyncio.to_thread(self._ingest, records)
        # Before the write: a replay after a crash folds the same readings again, which
        # the trackers ignore (no newer than what they hold). An event that fails to fold
        # becomes a dead letter, not stored.
        self.changed.update(fold_isolating(self.live.apply, result))
        # Acknowledged before the batch commits, so a crash in between repeats a dead
        # letter rather than losing it.
        await self.outlet.send_dead_letters(result.dead)
        await self.publish_elevated()
        self.metrics.prepared(len(records), result, time.perf_counter() - started)
        await self.publish_if_due()
        return result

    def _store(self, result: BatchResult) -> list[DeadLetter]:
        poison = store_or_isolate(self.writer, result)  # offsets in the same transaction
        if not poison:
            self.stored_offsets.update(result.next_offsets)
        return poison

    async def store_batch(self, result: BatchResult) -> None:
        started = time.perf_counter()
        # Records whose rows the database refuses are dead-lettered, then the rest stored.
        while poison := await asyncio.to_thread(self._store, result):
            await self.outlet.send_dead_letters(poison)
        self.metrics.stored(time.perf_counter() - started)

    def due_keys(self) -> set[Key]:
        """Changed keys, each once however many batches changed it, and every key not sent
        lately, so a quiet area still shows a fresh estimate (at least every
        `refresh_every_s`)."""
        keys = set(self.changed)
        self.changed.clear()
        return keys | self.ledger.due(self.live.keys(), self.monotonic(), self.refresh_every_s)

    async def publish_states(self) -> None:
        """One state tick."""
        self.last_tick = self.monotonic()
        await self._publish(self.due_keys())

    async def publish_if_due(self, slack_s: float = 0.0) -> None:
        """A state tick if the last one was `tick_every_s` (plus `slack_s`) ago.

        After a batch's fold (`prepare_batch`), so a tick carries the newest events: a
        tick on a timer of its own came at any point between two folds, and the states
        it built were older by up to one batch's time (0.2-0.4 s at 20,000 events/s,
        docs/benchmarks.md). The worker's timer calls it too, with a batch window of
        slack, for when no batch comes (a quiet feed still republishes its due keys)."""
        if self.tick_every_s is None:
            return
        if self.monotonic() - self.last_tick >= self.tick_every_s + slack_s:
            await self.publish_states()

    async def publish_elevated(self) -> None:
        """The changed keys whose last state was above normal, now rather than at the
        next tick. An alert's hold ends on the first state past it (alerts/rules/levels.py),
        so where a crowd is already building, waiting for the tick would add up to
        `state_publish_s` to a 심각 SMS (bench/alert_latency.py); few keys are above
        normal at once, so the extra states cost little. A key rising from normal still
        waits for the tick: knowing its stage takes building its state."""
        urgent = self.changed & self.elevated
        if urgent:
            self.changed -= urgent
            await self._publish(urgent)

    async def _publish(self, keys: set[Key]) -> None:
        now = self.clock()
        self.ledger.published(keys, self.monotonic())
        states = [self.live.state(area, zone, now) for area, zone in sorted(keys, key=_key_order)]
        published = [s for s in states if s is not None]
        self.elevated -= keys
        self.elevated.update((s.area_code, s.zone_id) for s in published if s.stage != "normal")
        await self.outlet.send_states(published)
        self.metrics.states_published.inc(len(published))


def _key_order(key: Key) -> tuple[str, str]:
    return key[0], key[1] or ""
