"""The API against the real broker, database and worker: /health and /ws/areas."""

from __future__ import annotations

import json
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from websockets.sync.client import connect

from citypulse.config import StackSettings
from citypulse.processes import Daemon
from sensors.events import PopulationEstimate
from sensors.publisher import KafkaEventPublisher
from tests.integration.support import WorkerFactory, settings_env, topic_names, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api(isolated: StackSettings, tmp_path: Path) -> str:
    port = _free_port()
    settings = isolated.model_copy(update={"api_port": port})
    d = Daemon("api", tmp_path / "run", tmp_path / "log")
    d.start(
        [sys.executable, "-m", "uvicorn", "dashboard_api.main:app", "--host", "127.0.0.1",
         "--port", str(port)],
        marker="dashboard_api.main:app",
        env=settings_env(settings),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), 30, "the API to answer")
        yield base
    finally:
        d.stop(10)


def _answers(base: str) -> bool:
    try:
        httpx.get(f"{base}/health", timeout=2)
        return True
    except httpx.HTTPError:
        return False


def test_health_reports_each_component_and_ws_streams_states(
    isolated: StackSettings, worker_factory: WorkerFactory, api: str
) -> None:
    down = httpx.get(f"{api}/health", timeout=5)
    assert down.status_code == 503  # no worker yet: never "ok"
    assert down.json()["components"]["worker"]["status"] == "down"
    assert down.json()["components"]["database"]["backend"] in {"postgresql", "timescaledb"}

    worker_factory()
    now = datetime.now(UTC)
    pub = KafkaEventPublisher(isolated.kafka_bootstrap, topic_names(isolated)["city-events.v1"])
    for area in ("POI009", "POI014"):
        pub.publish(PopulationEstimate(event_id=f"ws-{area}", source="test", event_time=now,
                                       ingest_time=now, area_code=area, people_min=20000,
                                       people_max=21000))  # fmt: skip
    pub.close()

    def healthy() -> bool:
        r = httpx.get(f"{api}/health", timeout=5)
        return r.status_code == 200 and r.json()["status"] == "ok"

    wait_for(healthy, 60, "/health to report ok", lambda: httpx.get(f"{api}/health").text)
    body = httpx.get(f"{api}/health", timeout=5).json()
    assert set(body["components"]) == {"kafka", "database", "worker"}
    # TimescaleDB's jobs beside the components; on stock PostgreSQL housekeeping is the policy.
    assert body["policy_jobs"]["status"] == "ok" and body["warnings"] == []
    assert body["policy_jobs"]["backend"] == body["components"]["database"]["backend"]

    with connect(f"{api.replace('http', 'ws')}/ws/areas", open_timeout=10) as ws:
        seen: dict[str, dict[str, object]] = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not {"POI009", "POI014"} <= set(seen):
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] == "states":
                seen.update({s["area_code"]: s for s in frame["states"] if s["scope"] == "area"})
    assert {"POI009", "POI014"} <= set(seen), f"states received: {sorted(seen)}"
    assert seen["POI014"]["people"] == 20500.0


@pytest.mark.parametrize(
    ("beat_age_s", "status"),
    [(3.0, "ok"), (7.0, "ok"), (9.5, "down"), (60.0, "down")],
)
def test_a_worker_two_beats_late_is_down(
    isolated: StackSettings, api: str, beat_age_s: float, status: str
) -> None:
    """Beats every 5 s, stale after 9 s: /health (cached 0.5 s) names a dead worker within
    10 s of its last beat."""
    with psycopg.connect(isolated.db_conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO worker_heartbeats (worker_id, role, host, pid, started_at, last_seen) "
            "VALUES ('w1', 'stream-worker', 'h', 1, now() - interval '1 hour', "
            "now() - make_interval(secs => %s))",
            (beat_age_s,),
        )
    time.sleep(0.6)  # past the health cache of any earlier answer
    worker = httpx.get(f"{api}/health", timeout=10).json()["components"]["worker"]
    assert worker["status"] == status
    assert worker["workers"] == (["w1"] if status == "ok" else [])
