"""`citypulse up / status / down` on their own ports and var dir, as a user runs them, with
two stream workers (CITYPULSE_WORKERS=2) sharing the partitions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from websockets.sync.client import connect

from citypulse.cli import supervise
from citypulse.config import REPO_ROOT, StackSettings
from sensors.events import PopulationEstimate
from sensors.publisher import KafkaEventPublisher
from tests.integration.support import settings_env, wait_for

E2E = StackSettings(
    env="test", var_dir=REPO_ROOT / "var" / "e2e", kafka_port=30092, kafka_controller_port=30093,
    db_port=30432, api_port=30000,
)  # fmt: skip


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "citypulse.cli", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, **settings_env(E2E), "CITYPULSE_WORKERS": "2"}, cwd=REPO_ROOT,
    )  # fmt: skip


def stack_pids() -> dict[str, int | None]:
    running = {
        p["name"]: p["pid"]
        for p in supervise.processes(supervise.Layout(E2E.run_dir, E2E.log_dir))
        if p["statename"] == "RUNNING"
    }
    names = ["postgres", "kafka", "worker", "worker-2", "dispatcher", "api", "watchdog"]
    return {n: running.get(n) for n in names}  # Kafka and PostgreSQL are supervised too


@pytest.fixture(scope="module")
def stack() -> Iterator[None]:
    up = cli("up", "--no-simulator")
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"http://127.0.0.1:{E2E.api_port}/" in up.stdout
    yield
    cli("down")


def test_up_serves_health_states_and_minute_rows(stack: None) -> None:
    health = httpx.get(f"{E2E.api_url}/health", timeout=5)
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["components"]["database"]["backend"] in {"postgresql", "timescaledb"}
    status = cli("status")
    assert status.returncode == 0 and "worker-2" in status.stdout, status.stdout

    def both_workers_beat() -> bool:
        workers = httpx.get(f"{E2E.api_url}/health", timeout=5).json()["components"]["worker"]
        return bool(workers.get("workers") == ["worker-1", "worker-2"])

    wait_for(both_workers_beat, 60, "heartbeats of worker-1 and worker-2")

    now = datetime.now(UTC)
    pub = KafkaEventPublisher(E2E.kafka_bootstrap, E2E.topic("city-events.v1"))
    pub.publish(PopulationEstimate(event_id=f"e2e-{now.timestamp()}", source="e2e", event_time=now,
                                   ingest_time=now, area_code="POI009", people_min=7000,
                                   people_max=7500))  # fmt: skip
    pub.close()
    with connect(f"ws://127.0.0.1:{E2E.api_port}/ws/areas", open_timeout=10) as ws:
        deadline = time.monotonic() + 10
        areas: set[str] = set()
        while time.monotonic() < deadline and "POI009" not in areas:
            frame = json.loads(ws.recv(timeout=10))
            areas |= {s["area_code"] for s in frame.get("states", [])}
    assert "POI009" in areas

    def minute_row() -> bool:
        with psycopg.connect(E2E.db_conninfo) as conn:
            row = conn.execute(
                "SELECT count(*) FROM crowd_stats_1m WHERE area_code = 'POI009'"
            ).fetchone()
        return row is not None and int(str(row[0])) >= 1

    wait_for(minute_row, 30, "a 1-minute row for POI009")


def test_up_twice_keeps_one_copy_and_down_stops_everything(stack: None) -> None:
    before = stack_pids()
    assert all(before.values()), before
    again = cli("up", "--no-simulator")
    assert again.returncode == 0, again.stderr
    assert stack_pids() == before

    down = cli("down")
    assert down.returncode == 0
    assert stack_pids() == dict.fromkeys(before)
    for pid in before.values():
        assert pid is not None
        assert not os.path.exists(f"/proc/{pid}") or _is_zombie(pid)
    assert cli("status").returncode == 1
    # Each stopped by its graceful signal, not by SIGKILL after its stop time.
    assert "database system is shut down" in _log_tail("postgres")  # SIGINT: fast shutdown
    stops = _log_tail("supervisord")
    assert "stopped: postgres (exit status 0)" in stops, stops
    assert "stopped: kafka (exit status 143)" in stops, stops  # the JVM after its SIGTERM hook

    # Up again reuses the data: the row written before the restart is still there.
    assert cli("up", "--no-simulator").returncode == 0
    with psycopg.connect(E2E.db_conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM crowd_stats_1m WHERE area_code = 'POI009'"
        ).fetchone()
    assert row is not None and int(str(row[0])) >= 1


def _log_tail(name: str) -> str:
    return supervise.log_tail(supervise.Layout(E2E.run_dir, E2E.log_dir), name, 40)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] == "Z"
    except FileNotFoundError:
        return True
