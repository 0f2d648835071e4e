"""An API process against the test broker and database, with the registry imported.

States are written straight to the compacted area-state topic (as the worker would), so
each test controls exactly what the dashboard sees.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from kafka import KafkaProducer

from citypulse.cli.stack import import_areas, import_zones, seed_demo_recipients
from citypulse.config import StackSettings
from citypulse.processes import Daemon
from citypulse.topics import AREA_STATE
from dashboard_api.core.security import hash_password
from tests.integration.support import settings_env, wait_for

TEST_PHONE = "+821055512347"  # distinctive, so finding it anywhere is a leak
PASSWORDS = {"admin": "admin-test-pw", "operator": "operator-test-pw", "viewer1": "viewer-pw"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def area_state(
    area: str,
    density: float,
    stage: str,
    *,
    seq: int = 1,
    zone: str | None = None,
    as_of: datetime | None = None,
    stale: bool = False,
) -> dict[str, Any]:
    walkable = 10_000.0
    return {
        "v": 1,
        "scope": "zone" if zone else "area",
        "area_code": area,
        "zone_id": zone,
        "as_of": (as_of or datetime.now(UTC)).isoformat(),
        "people": density * walkable,
        "walkable_m2": walkable,
        "density_per_m2": density,
        "stage": stage,
        "stage_ko": stage,
        "trend_per_min": 0.01,
        "forecast": [{"horizon_min": 15, "density_per_m2": density + 0.1, "stage": stage}],
        "sources": [
            {
                "source": "telecom",
                "people": density * walkable,
                "weight": 1.0,
                "age_s": 30.0,
                "stale": stale,
            }
        ],
        "stale": stale,
        "seq": seq,
    }


@dataclass
class ApiStack:
    base: str
    settings: StackSettings
    log: Path
    producer: KafkaProducer

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1)

    def publish(self, *states: dict[str, Any]) -> None:
        topic = self.settings.topic(AREA_STATE.suffix)
        for s in states:
            key = s["area_code"] if s["zone_id"] is None else f"{s['area_code']}/{s['zone_id']}"
            self.producer.send(topic, key=key.encode(), value=json.dumps(s).encode())
        self.producer.flush()

    def token(self, user: str) -> str:
        r = httpx.post(
            f"{self.base}/api/v1/auth/token",
            data={"username": user, "password": PASSWORDS[user]},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}


@pytest.fixture
def api_extra_env() -> dict[str, str]:
    """More environment for the API process; a test module overrides this fixture."""
    return {}


@pytest.fixture
def api_stack(
    isolated: StackSettings,
    tmp_path: Path,
    api_extra_env: dict[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[ApiStack]:
    """`@pytest.mark.api_env(NAME="value")` on a test adds to (or overrides) its env."""
    import_areas(isolated)
    import_zones(isolated)
    seed_demo_recipients(isolated)
    with psycopg.connect(isolated.db_conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dashboard_users (username, password_hash, role) "
            "VALUES ('viewer1', %s, 'viewer')",
            (hash_password(PASSWORDS["viewer1"]),),
        )
        conn.execute(
            "INSERT INTO recipients (name, phone_e164, tier) VALUES (%s, %s, 1)",
            ("Test desk", TEST_PHONE),
        )
    port = free_port()
    settings = isolated.model_copy(update={"api_port": port})
    d = Daemon("api", tmp_path / "run", tmp_path / "log")
    env = {
        **settings_env(settings),
        "CITYPULSE_ADMIN_PASSWORD": PASSWORDS["admin"],
        "CITYPULSE_OPERATOR_PASSWORD": PASSWORDS["operator"],
        "CITYPULSE_RATE_LIMIT_BURST": "100000",
        "CITYPULSE_ALERT_POLL_S": "0.2",
        "CITYPULSE_WS_HEARTBEAT_S": "1",
        "CITYPULSE_WS_AUTH_TIMEOUT_S": "2",
        **api_extra_env,
    }
    marker = request.node.get_closest_marker("api_env")
    env.update(marker.kwargs if marker else {})
    d.start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "dashboard_api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-proxy-headers",
            # as `citypulse up` runs it (citypulse/cli/stack.py)
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--ws",
            "dashboard_api.live.wire:SharedFrameProtocol",
            "--ws-per-message-deflate",
            "false",
        ],
        marker="dashboard_api.main:app",
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    producer = KafkaProducer(bootstrap_servers=isolated.kafka_bootstrap, acks="all")
    try:
        wait_for(lambda: _ready(base), 30, "the API to answer", d.log_tail)
        yield ApiStack(base, settings, d.log_file, producer)
    finally:
        producer.close()
        d.stop(10)


def _ready(base: str) -> bool:
    try:
        r = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "operator", "password": PASSWORDS["operator"]},
            timeout=5,
        )
        return r.status_code == 200
    except httpx.HTTPError:
        return False
