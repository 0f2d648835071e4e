"""Publish a simulation in real time (or faster) through an EventSink, with a progress line.

Pacing follows each item's simulated ingest instant: at `speed` 60 one simulated hour
takes one wall minute; `max_rate` caps events per wall second. The clock and sleep are
passed in, so the pacing is tested without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sensors.publisher import EventSink
from sensors.simulator.api import SimEvent
from sensors.simulator.records import MalformedPayload

log = logging.getLogger(__name__)


@runtime_checkable
class RawSink(Protocol):
    def publish_raw(self, key: bytes | None, value: bytes) -> None: ...


@dataclass(frozen=True)
class PaceReport:
    events: int
    malformed: int
    skipped_malformed: int
    wall_s: float
    last_sim_time: datetime | None


def sim_time_of(item: SimEvent) -> datetime:
    return item.emitted_at if isinstance(item, MalformedPayload) else item.ingest_time


def run_paced(
    items: Iterable[SimEvent],
    sink: EventSink,
    *,
    start: datetime,
    speed: float | None = 60.0,
    max_rate: float | None = None,
    progress_every_s: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PaceReport:
    """Publish `items`; malformed payloads go to `sink.publish_raw` when the sink has one."""
    began = clock()
    next_progress = began + progress_every_s
    events = malformed = skipped = 0
    sim_now: datetime | None = None
    raw = sink if isinstance(sink, RawSink) else None
    for item in items:
        sim_now = sim_time_of(item)
        due = 0.0
        if speed is not None:
            due = (sim_now - start).total_seconds() / speed
        if max_rate is not None:
            due = max(due, (events + malformed) / max_rate)
        wait = due - (clock() - began)
        if wait > 0:
            sleep(wait)
        if isinstance(item, MalformedPayload):
            if raw is None:
                skipped += 1
            else:
                raw.publish_raw(item.key, item.value)
                malformed += 1
        else:
            sink.publish(item)
            events += 1
        now = clock()
        if now >= next_progress:
            rate = (events + malformed) / max(now - began, 1e-9)
            log.info(
                "simulated %s | %d events, %d malformed | %.0f events/s",
                sim_now.isoformat(timespec="seconds"),
                events,
                malformed,
                rate,
            )
            next_progress = now + progress_every_s
    sink.flush()
    if skipped:
        log.warning("%d malformed payloads skipped: the sink has no publish_raw", skipped)
    return PaceReport(events, malformed, skipped, clock() - began, sim_now)
