"""The worker is built by `build_worker` from settings, nothing at import: no broker or
database is reached until the app starts, so the assembly itself is checked here."""

from __future__ import annotations

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
    agent = worker.app.agents["alerts.agents.evaluate_alerts"]
    assert agent.channel.get_topic_name() == "tw.area-state.v1"
    tasks = {t.__qualname__.split(".")[-1] for t in worker.app._app_tasks}
    assert {"consume_city_events", "load_thresholds", "publish_states", "heartbeat",
            "refresh_rollups", "reload_thresholds", "restore_alert_engine",
            "follow_calibration", "apply_retention"} <= tasks  # fmt: skip
    # 3 stream tasks, 6 timers; 1 alert task, 5 timers
    assert len(worker.app._app_tasks) == 15
    assert worker.feed.topic == "tw.city-events.v1"
    assert worker.feed.client_id == "tw-ingest-w7"
    assert worker.feed.settings.batch_max_events == 77


def test_two_workers_share_no_state() -> None:
    one = build_worker(StackSettings(topic_prefix="a"), WorkerSettings(), AlertSettings())
    two = build_worker(StackSettings(topic_prefix="b"), WorkerSettings(), AlertSettings())
    assert one.app is not two.app
    assert one.pipeline.live is not two.pipeline.live
    assert one.pipeline.stored_offsets is not two.pipeline.stored_offsets
