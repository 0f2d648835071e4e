"""The worker is built by `build_worker` from settings, nothing at import: no broker or
database is reached until the app starts, so the assembly itself is checked here."""

from __future__ import annotations

import asyncio
import importlib

import streams.worker
from alerts.settings import AlertSettings
from citypulse.config import StackSettings
from streams.settings import WorkerSettings
from streams.worker import build_worker


def test_importing_the_worker_module_builds_nothing() -> None:
    module = importlib.reload(streams.worker)
    assert not [name for name, value in vars(module).items() if type(value).__name__ == "App"]


def test_build_worker_registers_the_stream_tasks_and_the_alert_agent() -> None:
    stack = StackSettings(topic_prefix="tw", worker_id="w7")
    worker = build_worker(stack, WorkerSettings(batch_max_events=77), AlertSettings())

    assert worker.app.conf.id == "tw-worker"
    tasks = {t.__qualname__.split(".")[-1] for t in worker.app._app_tasks}
    assert {"consume_city_events", "load_thresholds", "publish_states", "heartbeat",
            "refresh_rollups", "reload_thresholds", "restore_alert_engine",
            "evaluate_alerts", "follow_calibration", "apply_retention"} <= tasks  # fmt: skip
    # 3 stream tasks, 6 timers; 2 alert tasks, 5 timers
    assert len(worker.app._app_tasks) == 16
    # The alert agent reads the area-state topic in its own consumer group, a member per
    # worker (alerts/state_feed.py), not through a Faust agent.
    assert not worker.app.agents
    assert worker.area_states.topic == "tw.area-state.v1"
    assert worker.area_states.group_id == "tw-alerts"
    assert worker.area_states.client_id == "tw-alerts-w7"
    assert worker.area_states.replay_max_s == AlertSettings().replay_max_s
    assert worker.feed.topic == "tw.city-events.v1"
    assert worker.feed.client_id == "tw-ingest-w7"
    assert worker.feed.settings.batch_max_events == 77
    # State ticks follow the batches' folds (StatePipeline.publish_if_due).
    assert worker.pipeline.tick_every_s == WorkerSettings().state_publish_s


def test_faust_starts_no_kafka_consumer_only_the_producer() -> None:
    # Both readers are the worker's own consumers; Faust's, with no topic to read, would
    # crash the worker at start ("You should provide either `topics` or `pattern`").
    worker = build_worker(StackSettings(topic_prefix="tw"), WorkerSettings(), AlertSettings())
    services = list(worker.app.boot_strategy.server())
    assert worker.app.producer in services
    assert worker.app.consumer not in services
    assert worker.app.topics not in services  # the conductor


def test_the_alert_agents_lag_is_reported_in_the_workers_metrics() -> None:
    from aiokafka import TopicPartition

    worker = build_worker(
        StackSettings(topic_prefix="tw"), WorkerSettings(worker_metrics_port=0), AlertSettings()
    )
    tp = TopicPartition("tw.area-state.v1", 2)

    class Consumer:  # what observe_lag asks of aiokafka's
        def assignment(self) -> set[TopicPartition]:
            return {tp}

        def highwater(self, _: TopicPartition) -> int:
            return 50

        async def position(self, _: TopicPartition) -> int:
            return 20

    assert worker.area_states.observe is not None
    asyncio.run(worker.area_states.observe(Consumer()))
    text = worker.pipeline.metrics.render().decode()
    assert 'citypulse_worker_consumer_lag{partition="2",topic="tw.area-state.v1"} 30.0' in text


def test_two_workers_share_no_state() -> None:
    one = build_worker(StackSettings(topic_prefix="a"), WorkerSettings(), AlertSettings())
    two = build_worker(StackSettings(topic_prefix="b"), WorkerSettings(), AlertSettings())
    assert one.app is not two.app
    assert one.pipeline.live is not two.pipeline.live
    assert one.pipeline.stored_offsets is not two.pipeline.stored_offsets
