"""Tasks and timers of the stream worker. They only wire I/O to the pure modules.

Raw city events are read by `CityEventFeed`, whole fetches at a time, rather than by a
Faust agent: Faust's per-event stream tops out near 4,000 events/s on two cores
(docs/benchmarks.md) while the city needs 20,000. The feed is the same aiokafka client
Faust runs on, in its own consumer group, hosted by this Faust worker beside the timers
and the alert agent. The database stays the record of what was consumed: offsets are
written with each batch, a partition resumes from there when assigned, and Kafka's own
commit follows the write.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta

import psycopg
from aiokafka.errors import ProducerClosed
from faust.exceptions import NotReady

from citypulse.domain.threshold_reader import ThresholdSource
from citypulse.topics import AREA_STATE, CITY_EVENTS, DEAD_LETTER
from sensors.registry import hotspots_by_code
from streams.app import CityEventFeed, app, settings
from streams.batch import (
    BatchProcessor,
    BatchResult,
    DeadLetter,
    RawRecord,
    ValidationPolicy,
    dead_letter_message,
    fold_isolating,
)
from streams.live import Key, LiveStates, PublishLedger
from streams.sink import PostgresBatchStore, store_or_isolate

log = logging.getLogger(__name__)

area_state_topic = app.topic(
    settings.topic(AREA_STATE.suffix), key_serializer="raw", value_serializer="raw"
)  # read by the alert agent; states are written straight to the producer

CONSUMER = f"{settings.topic_prefix}-worker"  # names the offsets stored in the database
CITY_EVENTS_TOPIC = settings.topic(CITY_EVENTS.suffix)
AREA_STATE_TOPIC = settings.topic(AREA_STATE.suffix)
DEAD_LETTER_TOPIC = settings.topic(DEAD_LETTER.suffix)
hotspots = hotspots_by_code()
processor = BatchProcessor(
    hotspots,
    ValidationPolicy(
        allowed_lateness=timedelta(seconds=settings.allowed_lateness_s),
        max_age=timedelta(seconds=settings.max_event_age_s),
    ),
)
store = PostgresBatchStore(settings.db_conninfo, CONSUMER)
housekeeping = PostgresBatchStore(settings.db_conninfo, CONSUMER)  # its own connection
# Rebalances read offsets while a write may be in flight: never on the writer's connection.
offsets_reader = PostgresBatchStore(settings.db_conninfo, CONSUMER)
live = LiveStates(hotspots)
changed: set[Key] = set()  # published by the next state tick, at most once per key
ledger = PublishLedger()
started_at = datetime.now(UTC)


# What the database holds per partition, as of the last write or resume: records below
# are replays and are dropped before they are counted.
stored_offsets: dict[tuple[str, int], int] = {}


def _resume_from() -> dict[tuple[str, int], int]:
    held = offsets_reader.stored_offsets(CITY_EVENTS_TOPIC)
    stored_offsets.clear()
    stored_offsets.update(held)
    return held


def _ingest(records: list[RawRecord]) -> BatchResult:
    return processor.process(records, stored_offsets, datetime.now(UTC))


async def _send_dead_letters(result: BatchResult) -> None:
    # Acknowledged by the broker before the batch commits, so a crash in between repeats
    # a dead letter rather than losing it. Straight to the producer, as the states are:
    # a storm of bad input must not slow the good events behind it.
    pending = []
    for d in result.dead:
        key, value, headers = dead_letter_message(d)  # cut to fit the producer, and says so
        pending.append(await app.producer.send(DEAD_LETTER_TOPIC, key, value, None, None, headers))
    if pending:
        await asyncio.gather(*pending)


async def prepare_batch(records: list[RawRecord]) -> BatchResult:
    """Validate, dead-letter and fold into live state; storing follows in `store_batch`."""
    result = await asyncio.to_thread(_ingest, records)
    # Before the write: a replay after a crash folds the same readings again, which the
    # trackers ignore (no newer than what they hold). An event that fails to fold becomes
    # a dead letter, not stored.
    changed.update(fold_isolating(live.apply, result))
    await _send_dead_letters(result)
    return result


def _store(result: BatchResult) -> list[DeadLetter]:
    poison = store_or_isolate(store, result)  # offsets in the same transaction
    if not poison:
        stored_offsets.update(result.next_offsets)
    return poison


async def store_batch(result: BatchResult) -> None:
    # Records whose rows the database refuses are dead-lettered, then the rest is stored.
    while poison := await asyncio.to_thread(_store, result):
        await _send_dead_letters(BatchResult(dead=poison))


async def _publish_states(keys: set[Key]) -> None:
    now = datetime.now(UTC)
    ledger.published(keys, time.monotonic())
    states = [live.state(area, zone, now) for area, zone in sorted(keys, key=_key_order)]
    # Straight to the producer: Faust's per-message send path cost about 1 ms a state,
    # which made a whole-city tick (360 states at 5,000 events/s) take 1.3 s, not 0.5.
    try:
        for state in states:
            if state is not None:
                await app.producer.send(
                    AREA_STATE_TOPIC,
                    state.key.encode(),
                    state.model_dump_json().encode(),
                    partition=None,
                    timestamp=None,
                    headers=None,
                )
    except (NotReady, ProducerClosed):  # the worker is stopping; the next one republishes
        log.info("area states not published: the producer is stopping")


def _key_order(key: Key) -> tuple[str, str]:
    return key[0], key[1] or ""


feed: CityEventFeed[BatchResult] = CityEventFeed(
    settings,
    CITY_EVENTS_TOPIC,
    group_id=f"{settings.topic_prefix}-ingest",
    resume_from=_resume_from,
)


@app.task
async def consume_city_events() -> None:
    """Read raw events in batches until the worker stops; a failure stops the worker."""
    try:
        await feed.run(prepare_batch, store_batch)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a worker that silently stops consuming is worse than none
        log.exception("city event feed failed; stopping the worker")
        await app.crash(exc)


@app.timer(interval=settings.state_publish_s)
async def publish_states() -> None:
    """Changed keys, each once per tick however many batches changed it; and every key
    not sent lately, so a quiet area still shows a fresh estimate (at least every
    `state_refresh_s`, one tick of margin)."""
    keys = set(changed)
    changed.clear()
    every = settings.state_refresh_s - settings.state_publish_s
    keys |= ledger.due(live.keys(), time.monotonic(), every)
    await _publish_states(keys)


@app.timer(interval=settings.heartbeat_s)
async def heartbeat() -> None:
    await asyncio.to_thread(
        housekeeping.heartbeat,
        settings.worker_id,
        "stream-worker",
        socket.gethostname(),
        os.getpid(),
        started_at,
    )


@app.timer(interval=settings.rollup_refresh_s)
async def refresh_rollups() -> None:
    dirty = store.rollup_dirty_from
    if dirty is not None:
        store.rollup_dirty_from = None
        housekeeping.rollup_dirty_from = dirty
        await asyncio.to_thread(housekeeping.refresh_rollups, datetime.now(UTC))


threshold_source = ThresholdSource(settings.db_conninfo)


async def _reload_thresholds() -> None:
    try:
        live.thresholds = await asyncio.to_thread(threshold_source.load, datetime.now(UTC))
    except psycopg.Error as exc:  # a database outage must not reset areas to the defaults
        log.warning("thresholds not reloaded, the previous ones stay: %s", exc)


@app.task
async def load_thresholds() -> None:
    """Operator thresholds from the start, not one reload period after it."""
    await _reload_thresholds()


@app.timer(interval=settings.thresholds_reload_s)
async def reload_thresholds() -> None:
    """Thresholds and event days saved in the dashboard take effect within one period."""
    await _reload_thresholds()
