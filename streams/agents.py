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
from datetime import UTC, datetime, timedelta

from citypulse.topics import AREA_STATE, CITY_EVENTS, DEAD_LETTER
from sensors.registry import hotspots_by_code
from streams.app import CityEventFeed, app, settings
from streams.batch import BatchProcessor, BatchResult, RawRecord, ValidationPolicy
from streams.live import Key, LiveStates
from streams.sink import PostgresBatchStore

log = logging.getLogger(__name__)

dead_letter_topic = app.topic(
    settings.topic(DEAD_LETTER.suffix), key_serializer="raw", value_serializer="raw"
)
area_state_topic = app.topic(
    settings.topic(AREA_STATE.suffix), key_serializer="raw", value_serializer="raw"
)

CONSUMER = f"{settings.topic_prefix}-worker"  # names the offsets stored in the database
CITY_EVENTS_TOPIC = settings.topic(CITY_EVENTS.suffix)
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
live = LiveStates(hotspots)
changed: set[Key] = set()  # published by the next state tick, at most once per key
started_at = datetime.now(UTC)


def _ingest(records: list[RawRecord]) -> BatchResult:
    stored = store.stored_offsets(CITY_EVENTS_TOPIC)
    return processor.process(records, stored, datetime.now(UTC))


async def _send_dead_letters(result: BatchResult) -> None:
    # Acknowledged by the broker before the batch commits, so a crash in between repeats
    # a dead letter rather than losing it.
    pending = []
    for d in result.dead:
        headers = {
            "reason": d.reason.encode(),
            "detail": d.detail.encode()[:1000],
            "source": d.source.encode(),
            "origin": f"{d.record.topic}/{d.record.partition}/{d.record.offset}".encode(),
        }
        pending.append(
            await dead_letter_topic.send(key=d.record.key, value=d.record.value, headers=headers)
        )
    if pending:
        await asyncio.gather(*pending)


async def ingest_batch(records: list[RawRecord]) -> None:
    """Validate, dead-letter, store (offsets in the same transaction), fold into live state."""
    result = await asyncio.to_thread(_ingest, records)
    await _send_dead_letters(result)
    await asyncio.to_thread(store.write, result)
    changed.update(live.apply(result.events))


async def _publish_states(keys: set[Key]) -> None:
    now = datetime.now(UTC)
    for area, zone in sorted(keys, key=lambda k: (k[0], k[1] or "")):
        state = live.state(area, zone, now)
        if state is not None:
            await area_state_topic.send(
                key=state.key.encode(), value=state.model_dump_json().encode()
            )


feed = CityEventFeed(
    settings,
    CITY_EVENTS_TOPIC,
    group_id=f"{settings.topic_prefix}-ingest",
    resume_from=lambda: store.stored_offsets(CITY_EVENTS_TOPIC),
)


@app.task
async def consume_city_events() -> None:
    """Read raw events in batches until the worker stops; a failure stops the worker."""
    try:
        await feed.run(ingest_batch)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a worker that silently stops consuming is worse than none
        log.exception("city event feed failed; stopping the worker")
        await app.crash(exc)


@app.timer(interval=settings.state_publish_s)
async def publish_changed_states() -> None:
    """Bounded state rate: a key changed by many batches is sent once per tick."""
    keys = set(changed)
    changed.clear()
    await _publish_states(keys)


@app.timer(interval=settings.state_refresh_s)
async def refresh_live_states() -> None:
    """Republish every known state so a quiet area still shows a fresh estimate."""
    await _publish_states(live.keys())


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
