"""HA mode under `citypulse up` (CITYPULSE_HA=1): each Kafka node, stream worker,
dispatcher and watchdog killed with SIGKILL in turn, one at a time. supervisord restarts
it, and the service goes on meanwhile: an event sent right after the kill is stored. Before
the next Kafka node is killed, the restarted one is back in every partition's ISR.
"""

from __future__ import annotations

import json
import os
import re
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import psycopg
import pytest
from kafka import KafkaProducer

from citypulse.cli.stack import health
from citypulse.config import REPO_ROOT, StackSettings
from citypulse.topics import CITY_EVENTS
from tests.e2e.support import cli, fully_replicated
from tests.hostile_events import valid_event
from tests.integration.support import settings_env, wait_for

# Several minutes (three JVMs, nine kills, each Kafka node caught up before the next): run
# with CITYPULSE_TEST_HA=1, outside CI's budget.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(not os.environ.get("CITYPULSE_TEST_HA"), reason="CITYPULSE_TEST_HA=1"),
]

STACK = StackSettings(
    env="test", ha=True, var_dir=REPO_ROOT / "var" / "e2e" / "ha-kafka", kafka_port=32192,
    kafka_controller_port=32193, db_port=32532, api_port=32100, kafka_heap_mb=384,
    dispatch_metrics_port=0,
)  # fmt: skip
_STATUS = re.compile(r"^(?P<name>\S+)\s+(?:up|DOWN)\s+(?P<state>\S+)\s+pid=(?P<pid>\S+)\s+"
                     r"restarts=(?P<restarts>\d+)", re.MULTILINE)  # fmt: skip
KILLED_IN_TURN = [
    "kafka-a1", "kafka-b1", "kafka-c1", "worker-a", "worker-b",
    "dispatcher-a", "dispatcher-b", "watchdog-a", "watchdog-b",
]  # fmt: skip


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    env = {
        **os.environ, **settings_env(STACK), "CITYPULSE_HA": "1",
        "CITYPULSE_KAFKA_HEAP_MB": str(STACK.kafka_heap_mb),
        "CITYPULSE_WORKER_METRICS_PORT": "0", "CITYPULSE_DISPATCH_METRICS_PORT": "0",
        "CITYPULSE_WATCHDOG_FEED_STALE_S": "0",  # no simulator: the feed is quiet on purpose
    }  # fmt: skip
    env.pop("WEB_PORT", None)  # Faust's own web port: two workers must each pick a free one
    try:
        up = cli(env, "up", "--no-simulator", timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        yield env
    finally:
        cli(env, "down", timeout=600)


def status(env: dict[str, str]) -> dict[str, tuple[str, int | None, int]]:
    out = cli(env, "status").stdout
    return {
        m["name"]: (m["state"], None if m["pid"] == "-" else int(m["pid"]), int(m["restarts"]))
        for m in _STATUS.finditer(out)
    }


def _stored(event_id: str) -> bool:
    try:
        with psycopg.connect(STACK.db_conninfo, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT 1 FROM crowd_readings WHERE event_id = %s", (event_id,)
            ).fetchone()
    except psycopg.Error:
        return False
    return row is not None


def _send_event(event_id: str) -> None:
    producer = KafkaProducer(
        bootstrap_servers=STACK.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    try:
        doc = valid_event("zone_count", event_id, datetime.now(UTC))
        future = producer.send(CITY_EVENTS.name(STACK.topic_prefix), value=json.dumps(doc).encode())
        producer.flush(90)
        assert future.succeeded(), f"{event_id} not acknowledged"
    finally:
        producer.close()


def test_each_process_killed_in_turn_is_restarted_and_service_goes_on(
    stack: dict[str, str],
) -> None:
    wait_for(
        lambda: all(s == "RUNNING" for s, _, _ in status(stack).values()),
        60,
        "supervisord to count every program running",
        lambda: str(status(stack)),
    )
    before = status(stack)
    assert set(KILLED_IN_TURN) <= set(before), before
    for name in KILLED_IN_TURN:
        wait_for(lambda: fully_replicated(STACK), 120, "all three nodes in every ISR")
        state, pid, restarts = status(stack)[name]
        assert state == "RUNNING" and pid is not None, (name, status(stack))
        os.kill(pid, signal.SIGKILL)

        # The service goes on while it is down (or being restarted).
        event_id = f"after-{name}-{uuid.uuid4().hex[:8]}"
        _send_event(event_id)
        wait_for(partial(_stored, event_id), 90, f"an event sent after killing {name} stored",
                 lambda: str(status(stack)))  # fmt: skip

        def restarted(name: str = name, old: int = pid, count: int = restarts) -> bool:
            state, new_pid, now = status(stack)[name]
            return state == "RUNNING" and new_pid not in (None, old) and now > count

        wait_for(restarted, 120, f"supervisord to restart {name}", lambda: str(status(stack)))
    wait_for(lambda: health(STACK).get("status") == "ok", 120, "/health ok at the end",
             lambda: str(health(STACK)))  # fmt: skip
    after = status(stack)
    assert all(after[n][2] == before[n][2] for n in after if n not in KILLED_IN_TURN), after
