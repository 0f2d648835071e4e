"""The stream worker assembled in one place: `build_worker` makes the Faust app, the
stores, the live state and the alert service from settings, and registers the stream
tasks (streams/agents.py) and the alert agent (alerts/agents.py) on it.

Nothing here runs at import. The Faust command line needs a module with an `app`:
that is streams/app.py, which calls `build_worker` with `Settings.from_env()`.
"""

from __future__ import annotations

import gc
import logging
import socket
from dataclasses import dataclass
from datetime import timedelta

import faust
from faust.app.base import BootStrategy

from alerts import agents as alert_agents
from alerts.phone_ack.links import LinkMaker
from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from alerts.state_feed import AreaStateFeed
from citypulse.config import StackSettings
from citypulse.domain.threshold_reader import ThresholdSource
from citypulse.logs import worker_logging_config
from citypulse.topics import AREA_STATE, CITY_EVENTS, DEAD_LETTER, PRODUCER_MAX_REQUEST_BYTES
from sensors.registry import hotspots_by_code
from streams import agents as stream_agents
from streams.batch import BatchProcessor, BatchResult, ValidationPolicy
from streams.calibration_store import CalibrationStore
from streams.feed import CityEventFeed
from streams.housekeeping import Housekeeping
from streams.live import LiveStates
from streams.metrics import start_worker_metrics
from streams.pipeline import StatePipeline
from streams.settings import WorkerSettings
from streams.sink import PostgresBatchStore


@dataclass(frozen=True)
class Worker:
    app: faust.App
    pipeline: StatePipeline
    feed: CityEventFeed[BatchResult]
    alerts: AlertService
    area_states: AreaStateFeed


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _NoFaustConsumer(BootStrategy):
    """Both of the worker's readers are its own aiokafka consumers (streams/feed.py,
    alerts/state_feed.py), so Faust's consumer, conductor and tables have nothing to
    read; started with no topic, its consumer would crash the worker."""

    enable_kafka_consumer = False


class WorkerApp(faust.App):
    """A Faust app for the worker's timers, tasks and producer."""

    BootStrategy = _NoFaustConsumer


def build_app(stack: StackSettings) -> faust.App:
    return WorkerApp(
        f"{stack.topic_prefix}-worker",
        # Faust separates brokers with ";": every node, so any one may be down (HA mode).
        broker=";".join(f"kafka://{server}" for server in stack.kafka_bootstrap.split(",")),
        store="memory://",  # the database is the system of record, not Faust tables
        autodiscover=False,
        web_enabled=False,
        # `faust worker` turns its web server on anyway (unless --without-web); on a fixed
        # port (6066) a second worker on the machine would fail to start.
        web_port=_unused_port(),
        web_bind="127.0.0.1",
        producer_acks=-1,
        producer_linger_ms=5,
        # A state tick sends a state per changed key (about 1 KB each, 50 KB per partition
        # for the whole city). aiokafka's 16 KB default batches made each tick wait on
        # several broker round trips per partition: 1.3 s per tick at 5,000 events/s, not 0.5.
        producer_max_batch_size=512 * 1024,
        # Over the broker's message.max.bytes: any record the broker took fits (topics.py).
        producer_max_request_size=PRODUCER_MAX_REQUEST_BYTES,
        topic_allow_declare=False,  # topics are declared in citypulse/topics.py
        topic_disable_leader=True,
        logging_config=worker_logging_config(stack.log_format),  # CITYPULSE_LOG_FORMAT=json
    )


def tune_runtime() -> None:
    """Process-wide tweaks the worker wants; called by its entry point, not at import."""
    # aiokafka logs at debug per request; with the root level unset each call builds a record.
    logging.getLogger("aiokafka").setLevel(logging.INFO)
    # A batch allocates tens of thousands of short-lived objects; the default young-generation
    # threshold (700) runs the collector hundreds of times per batch for nothing.
    gc.set_threshold(50_000, 20, 20)


def build_worker(
    stack: StackSettings,
    settings: WorkerSettings,
    alerts: AlertSettings,
    ack_links: LinkMaker | None = None,
) -> Worker:
    app = build_app(stack)
    consumer = f"{stack.topic_prefix}-worker"  # names the offsets stored in the database
    city_events = stack.topic(CITY_EVENTS.suffix)
    area_state = stack.topic(AREA_STATE.suffix)
    hotspots = hotspots_by_code()
    metrics = start_worker_metrics(stack, settings)  # served on its own port
    clock = stack.clock()  # the wall clock, or a drill's simulated one (citypulse/sim_clock.py)

    store = PostgresBatchStore(stack.db_conninfo, consumer)
    # Rebalances read offsets while a write may be in flight: never on the writer's connection.
    offsets_reader = PostgresBatchStore(stack.db_conninfo, consumer)
    live = LiveStates(hotspots)
    processor = BatchProcessor(
        hotspots,
        ValidationPolicy(
            allowed_lateness=timedelta(seconds=settings.allowed_lateness_s),
            max_age=timedelta(seconds=settings.max_event_age_s),
        ),
    )
    pipeline = StatePipeline(
        processor,
        live,
        stream_agents.KafkaOutlet(app, area_state, stack.topic(DEAD_LETTER.suffix)),
        store,
        lambda: offsets_reader.stored_offsets(city_events),
        # One tick of margin, so a quiet key is republished within `state_refresh_s`.
        refresh_every_s=settings.state_refresh_s - settings.state_publish_s,
        clock=clock,
        metrics=metrics,
        tick_every_s=settings.state_publish_s,
    )
    feed: CityEventFeed[BatchResult] = CityEventFeed(
        stack.kafka_bootstrap,
        settings,
        city_events,
        group_id=f"{stack.topic_prefix}-ingest",
        client_id=f"{stack.topic_prefix}-ingest-{stack.worker_id}",
        resume_from=pipeline.resume_from,
        metrics=metrics,
    )
    stream_agents.register(
        app,
        settings,
        stack.worker_id,
        pipeline,
        feed,
        store,
        Housekeeping(stack.db_conninfo),
        ThresholdSource(stack.db_conninfo),
        CalibrationStore(stack.db_conninfo),
        clock=clock,
    )

    areas = {
        h.code: AreaInfo(h.code, h.name_ko, h.name_en, h.district, h.category)
        for h in hotspots.values()
    }
    service = AlertService(stack.db_conninfo, areas, alerts, ack_links)
    area_states = AreaStateFeed(
        stack.kafka_bootstrap,
        area_state,
        group_id=f"{stack.topic_prefix}-alerts",
        client_id=f"{stack.topic_prefix}-alerts-{stack.worker_id}",
        session_timeout_s=settings.session_timeout_s,
        heartbeat_s=settings.group_heartbeat_s,
        observe=lambda consumer: metrics.observe_lag(consumer, reader="alerts"),
        replay_max_s=alerts.replay_max_s,
    )
    alert_agents.register(
        app, area_states, service, alerts, settings.thresholds_reload_s, clock=clock
    )
    return Worker(app, pipeline, feed, service, area_states)
