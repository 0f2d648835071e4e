"""Agents and timers of the stream worker. They only wire I/O to the pure modules."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from citypulse.topics import AREA_STATE, CITY_EVENTS, DEAD_LETTER
from sensors.registry import hotspots_by_code
from streams.app import app, settings
from streams.batch import BatchProcessor, BatchResult, RawRecord, ValidationPolicy
from streams.live import LiveStates
from streams.sink import PostgresBatchStore

log = logging.getLogger(__name__)

city_events_topic = app.topic(
    settings.topic(CITY_EVENTS.suffix), key_serializer="raw", value_serializer="raw"
)
dead_letter_topic = app.topic(
    settings.topic(DEAD_LETTER.suffix), key_serializer="raw", value_serializer="raw"
)
area_state_topic = app.topic(
    settings.topic(AREA_STATE.suffix), key_serializer="raw", value_serializer="raw"
)

CONSUMER = f"{settings.topic_prefix}-worker"
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
started_at = datetime.now(UTC)


def _ingest(records: list[RawRecord]) -> BatchResult:
    stored = store.stored_offsets(city_events_topic.get_topic_name())
    return processor.process(records, stored, datetime.now(UTC))


async def _publish_states(keys: set[tuple[str, str | None]]) -> None:
    now = datetime.now(UTC)
    for area, zone in sorted(keys, key=lambda k: (k[0], k[1] or "")):
        state = live.state(area, zone, now)
        if state is not None:
            await area_state_topic.send(
                key=state.key.encode(), value=state.model_dump_json().encode()
            )


@app.agent(city_events_topic)
async def aggregate_city_events(stream: Any) -> None:
    """Validate, store and fold raw city events; offsets are acked only after the write."""
    async for events in stream.take_events(
        settings.batch_max_events, within=settings.batch_within_s
    ):
        records = [
            RawRecord(
                e.message.topic,
                e.message.partition,
                e.message.offset,
                e.message.key,
                e.message.value,
            )
            for e in events
        ]
        result = await asyncio.to_thread(_ingest, records)
        # Dead letters are acknowledged by the broker before the batch commits, so a crash
        # in between repeats a dead letter rather than losing it.
        pending = []
        for d in result.dead:
            headers = {
                "reason": d.reason.encode(),
                "detail": d.detail.encode()[:1000],
                "source": d.source.encode(),
                "origin": f"{d.record.topic}/{d.record.partition}/{d.record.offset}".encode(),
            }
            pending.append(
                await dead_letter_topic.send(
                    key=d.record.key, value=d.record.value, headers=headers
                )
            )
        if pending:
            await asyncio.gather(*pending)
        await asyncio.to_thread(store.write, result)
        await _publish_states(live.apply(result.events))


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
