"""Helpers shared by the integration tests: settings as env, topics, waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kafka import KafkaConsumer, TopicPartition

from citypulse.config import StackSettings
from citypulse.processes import Daemon
from citypulse.topics import ALL_TOPICS
from infra.db.migrate import drop_schema, migrate
from infra.kafka import broker

WorkerFactory = Callable[..., Daemon]


def read_topic(
    bootstrap: str, topic: str, until: Callable[[list[object]], bool], timeout_s: float = 60
) -> list[object]:
    """Read a topic from the beginning until `until(messages)` holds or time runs out."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        messages: list[object] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not until(messages):
            for batch in consumer.poll(timeout_ms=500).values():
                messages.extend(batch)
        return messages
    finally:
        consumer.close()


def wait_for(
    check: Callable[[], bool], timeout_s: float, what: str, explain: Callable[[], str] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    detail = f": {explain()}" if explain else ""
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")


def settings_env(settings: StackSettings) -> dict[str, str]:
    return {
        "CITYPULSE_ENV": settings.env,
        "CITYPULSE_VAR_DIR": str(settings.var_dir),
        "CITYPULSE_KAFKA_PORT": str(settings.kafka_port),
        "CITYPULSE_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
        "CITYPULSE_DB_PORT": str(settings.db_port),
        "CITYPULSE_TOPIC_PREFIX": settings.topic_prefix,
        "CITYPULSE_DB_SCHEMA": settings.db_schema,
        "CITYPULSE_API_PORT": str(settings.api_port),
    }


@contextmanager
def isolated_stack(services: StackSettings) -> Iterator[StackSettings]:
    """Settings with a fresh topic prefix and database schema, removed afterwards."""
    tag = f"t{uuid.uuid4().hex[:10]}"
    settings = services.model_copy(update={"topic_prefix": tag, "db_schema": tag})
    migrate(settings.db_conninfo, tag)
    names = broker.ensure_topics(settings)
    try:
        yield settings
    finally:
        broker.delete_topics(settings, names)
        drop_schema(settings.db_conninfo, tag)


def topic_names(settings: StackSettings) -> dict[str, str]:
    return {spec.suffix: spec.name(settings.topic_prefix) for spec in ALL_TOPICS}


def run_cli(
    settings: StackSettings, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "citypulse.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **settings_env(settings)},
        check=False,
    )
