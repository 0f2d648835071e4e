"""HA mode under supervisord, the PostgreSQL and API half (issue 17, must-show 2): each
of pg_auto_failover's monitor, the two sites' PostgreSQL, the two API processes and
HAProxy is killed with SIGKILL in turn; supervisord restarts it and the service goes on
(a write through the multi-host conninfo and /health through HAProxy both succeed).
Kafka is the integration tests' broker; the stream worker's heartbeat is written here."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from citypulse.cli import ha_stack, supervise
from citypulse.cli.stack import app_processes, programs
from citypulse.config import REPO_ROOT, StackSettings
from infra.db import ha
from infra.db.migrate import migrate
from infra.kafka import broker
from tests.integration.support import settings_env, wait_for

# Ports of its own: test_pg_failover.py uses 25440-25442 and test_haproxy_api_failover.py
# 28000-28002, and in one session a process one of them left behind must not meet another.
PORTS = {"db_monitor_port": 25450, "db_port": 25451, "db_standby_port": 25452,
         "api_port": 28010, "api_port_a": 28011, "api_port_b": 28012}  # fmt: skip
# Like tests/e2e/test_e2e_ha_kafka.py: HA mode's several processes, run with
# CITYPULSE_TEST_HA=1 outside CI's budget. It has not yet passed end to end (its setup
# failed on the only runs; issue 17 says so).
pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not os.environ.get("CITYPULSE_TEST_HA"), reason="CITYPULSE_TEST_HA=1"),
]


def _write(s: StackSettings) -> bool:
    try:
        with psycopg.connect(s.db_conninfo, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO worker_heartbeats (worker_id, role, host, pid, started_at, "
                "last_seen) VALUES ('w1', 'stream-worker', 'h', 1, now(), now()) "
                "ON CONFLICT (worker_id) DO UPDATE SET last_seen = now()"
            )
        return True
    except psycopg.Error:
        return False


def _health(s: StackSettings) -> bool:
    try:
        return httpx.get(f"{s.api_url}/health", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def stack(services: StackSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[StackSettings]:
    s = services.model_copy(
        update={"ha": True, "var_dir": REPO_ROOT / "var" / "test-ha-sup", **PORTS}
    )
    shutil.rmtree(s.var_dir, ignore_errors=True)
    # `up` creates the topics once the last Kafka node is ready; here Kafka is the
    # integration tests' one broker (node 1's port of the HA list), so they are made on
    # it with one replica, before the API processes subscribe to them.
    broker.ensure_topics(services, prefix=s.topic_prefix)
    for k, v in {**settings_env(s), "CITYPULSE_WS_HEARTBEAT_S": "1"}.items():
        monkeypatch.setenv(k, v)  # supervisord's programs inherit them
    for k in ("CITYPULSE_DB_MONITOR_PORT", "CITYPULSE_DB_STANDBY_PORT"):
        monkeypatch.setenv(k, str(PORTS[k.removeprefix("CITYPULSE_").lower()]))
    monkeypatch.setenv("CITYPULSE_HA", "1")
    lay = supervise.Layout(s.run_dir, s.log_dir)
    steps = [*ha_stack.postgres_steps(s), ha_stack.haproxy_step(s)]
    apis = programs(s, [p for p in app_processes(s) if p.name.startswith("api")])
    supervise.start(lay, [p for p, _, _ in steps] + apis, cwd=REPO_ROOT)
    stop = threading.Event()
    try:
        for program, ready, _ in steps:
            supervise.start_program(lay, program.name)
            wait_for(ready, 60, program.name, lambda n=program.name: supervise.log_tail(lay, n))
        ha_stack.prepare_database(s, migrate)
        for p in apis:
            supervise.start_program(lay, p.name)

        def beat() -> None:  # the stream worker's heartbeat: /health is 200 with it
            while not stop.wait(1):
                _write(s)

        threading.Thread(target=beat, daemon=True).start()
        wait_for(lambda: _health(s), 60, "/health through HAProxy",
                 lambda: supervise.log_tail(lay, "api-a"))  # fmt: skip
        yield s
    finally:
        stop.set()
        supervise.stop(lay)
        shutil.rmtree(s.var_dir, ignore_errors=True)


def test_each_process_killed_in_turn_is_restarted_and_service_goes_on(
    stack: StackSettings,
) -> None:
    s = stack
    lay = supervise.Layout(s.run_dir, s.log_dir)
    took = {}
    for name in ("postgres-a", "postgres-b", "pg-monitor", "api-a", "api-b", "haproxy"):
        before = supervise.rpc(lay).supervisor.getProcessInfo(name)["pid"]
        killed_at = time.monotonic()
        os.kill(before, signal.SIGKILL)

        def restarted(n: str = name, old: int = before) -> bool:
            info = supervise.rpc(lay).supervisor.getProcessInfo(n)
            return bool(info["statename"] == "RUNNING" and info["pid"] not in (0, old))

        wait_for(restarted, 60, f"{name} restarted", lambda n=name: supervise.log_tail(lay, n))
        wait_for(lambda: _write(s) and _health(s), 60, f"service after {name}'s kill",
                 lambda: f"states {ha.states(s)}")  # fmt: skip
        took[name] = time.monotonic() - killed_at
    restarts = supervise.restart_counts(lay)
    print("\nkilled, restarted, serving again after (s):",  # noqa: T201
          {n: round(t, 1) for n, t in took.items()}, "restarts", restarts)  # fmt: skip
    assert all(restarts.get(n, 0) >= 1 for n in took), restarts
    # Both sites back in their roles: one primary, one standby.
    wait_for(lambda: all(ha.node_ready(s, n) for n in ha.sites(s)), 60, "both sites serving",
             lambda: f"states {ha.states(s)}")  # fmt: skip
    assert ha.primary(s) is not None
