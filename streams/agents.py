"""Tasks and timers of the stream worker. They only wire I/O to the pure modules.

Raw city events are read by `CityEventFeed`, whole fetches at a time, rather than by a
Faust agent: Faust's per-event stream tops out near 4,000 events/s on two cores
(docs/benchmarks.md) while the city needs 20,000. The feed is the same aiokafka client
Faust runs on, in its own consumer group, hosted by this Faust worker beside the timers
and the alert agent. The database stays the record of what was consumed: offsets are
written with each batch, a partition resumes from there when assigned, and Kafka's own
commit follows the write.

Nothing here runs at import: `register` puts the tasks and timers on an app that
streams/worker.py built.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import faust
import psycopg
from aiokafka.errors import ProducerClosed
from faust.exceptions import NotReady

from citypulse.domain.area_state import AreaState
from citypulse.domain.threshold_reader import ThresholdSource
from streams.batch import BatchResult, DeadLetter, dead_letter_message
from streams.calibration_store import CalibrationStore
from streams.feed import CityEventFeed
from streams.housekeeping import Housekeeping
from streams.pipeline import StatePipeline
from streams.retention import RetentionPolicy
from streams.settings import WorkerSettings
from streams.sink import PostgresBatchStore

log = logging.getLogger(__name__)


class KafkaOutlet:
    """Dead letters and states straight to the producer: Faust's per-message send path
    cost about 1 ms a state, which made a whole-city tick (360 states at 5,000 events/s)
    take 1.3 s, not 0.5; and a storm of bad input must not slow the good events behind it.
    """

    def __init__(self, app: faust.App, area_state_topic: str, dead_letter_topic: str) -> None:
        self.app = app
        self.area_state_topic = area_state_topic
        self.dead_letter_topic = dead_letter_topic

    async def send_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        pending = []
        for d in dead:
            key, value, headers = dead_letter_message(d)  # cut to fit the producer, says so
            pending.append(
                await self.app.producer.send(
                    self.dead_letter_topic, key, value, None, None, headers
                )
            )
        if pending:
            await asyncio.gather(*pending)

    async def send_states(self, states: Sequence[AreaState]) -> None:
        try:
            for state in states:
                await self.app.producer.send(
                    self.area_state_topic,
                    state.key.encode(),
                    state.model_dump_json().encode(),
                    partition=None,
                    timestamp=None,
                    headers=None,
                )
        except (NotReady, ProducerClosed):  # the worker is stopping; the next one republishes
            log.info("area states not published: the producer is stopping")


def register(
    app: faust.App,
    settings: WorkerSettings,
    worker_id: str,
    pipeline: StatePipeline,
    feed: CityEventFeed[BatchResult],
    store: PostgresBatchStore,
    housekeeping: Housekeeping,
    thresholds: ThresholdSource,
    calibrations: CalibrationStore | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Put the stream worker's tasks and timers on `app`. `clock`: what rollups and
    thresholds (event days) take as now; a drill's simulated clock in a drill."""
    started_at = datetime.now(UTC)
    retention = RetentionPolicy(settings.retention_raw_days, settings.retention_stats_1m_days)

    async def consume_city_events() -> None:
        """Read raw events in batches until the worker stops; a failure stops the worker."""
        try:
            await feed.run(pipeline.prepare_batch, pipeline.store_batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a worker that silently stops consuming is worse than none
            log.exception("city event feed failed; stopping the worker")
            await app.crash(exc)

    async def publish_states() -> None:
        # Ticks follow the batches' folds (StatePipeline.publish_if_due); this one is
        # for when no batch comes within a batch window of the tick being due.
        await pipeline.publish_if_due(slack_s=settings.batch_within_s)

    async def heartbeat() -> None:
        await asyncio.to_thread(
            housekeeping.heartbeat,
            worker_id,
            "stream-worker",
            socket.gethostname(),
            os.getpid(),
            started_at,
        )
        pipeline.metrics.heartbeat()

    async def refresh_rollups() -> None:
        dirty = store.take_rollup_dirty_from()
        if dirty is not None:
            await asyncio.to_thread(housekeeping.refresh_rollups, dirty, clock())

    async def apply_retention() -> None:
        """Drop what is past retention (stock PostgreSQL), or do the work of TimescaleDB
        jobs that fail. A database outage skips a pass; the next one catches up."""
        try:
            report = await asyncio.to_thread(
                housekeeping.apply_retention, retention, datetime.now(UTC)
            )
        except psycopg.Error as exc:
            log.warning("retention pass skipped: %s", exc)
            return
        if report is not None:
            pipeline.metrics.retained(report)

    async def reload_thresholds() -> None:
        """Thresholds and event days saved in the dashboard take effect within one period;
        on a database outage the previous ones stay, never the defaults."""
        try:
            pipeline.live.thresholds = await asyncio.to_thread(thresholds.load, clock())
        except psycopg.Error as exc:
            log.warning("thresholds not reloaded, the previous ones stay: %s", exc)

    async def load_thresholds() -> None:
        """Operator thresholds from the start, not one reload period after it."""
        await reload_thresholds()

    async def follow_calibration() -> None:
        """Load the newest calibration when there is a newer one; refit when the newest is
        older than the refit period. On a database outage the loaded one stays."""
        if calibrations is None:
            return
        try:
            await asyncio.to_thread(_follow_calibration, calibrations, pipeline, settings)
        except psycopg.Error as exc:
            log.warning("calibration not reloaded, the previous one stays: %s", exc)

    app.task(consume_city_events)
    app.task(load_thresholds)
    app.task(follow_calibration)  # at start, not one period after it
    for interval, timer in (
        (settings.state_publish_s / 5, publish_states),
        (settings.heartbeat_s, heartbeat),
        (settings.rollup_refresh_s, refresh_rollups),
        (settings.retention_check_s, apply_retention),
        (settings.thresholds_reload_s, reload_thresholds),
        (settings.calibration_check_s, follow_calibration),
    ):
        app.timer(interval=interval, name=f"streams.{timer.__name__}")(timer)


def _follow_calibration(
    calibrations: CalibrationStore, pipeline: StatePipeline, settings: WorkerSettings
) -> None:
    now = datetime.now(UTC)
    period = timedelta(seconds=settings.calibration_refit_s)
    held = pipeline.live.calibration
    newest = calibrations.latest_id()
    if newest is not None and (held is None or held.fit_id != newest):
        held = calibrations.latest()
        if held is not None:
            pipeline.live.calibration = held
            log.info("calibration %s loaded (%d areas)", held.fit_id, len(held.calibrated))
    if held is None or held.fitted_at <= now - period:
        fitted = calibrations.refit(now, unless_fitted_after=now - period)
        if fitted is not None:
            pipeline.live.calibration = fitted
            log.info("calibration %s fitted (%d areas)", fitted.fit_id, len(fitted.calibrated))
