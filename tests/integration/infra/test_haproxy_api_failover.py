"""HA mode's API: HAProxy (infra/haproxy) in front of the API processes of sites a and b,
as `up` builds them (citypulse.cli.stack.app_processes with CITYPULSE_HA=1). One API
process is killed with SIGKILL: /health keeps answering 200 through HAProxy, the
websocket on the killed process is closed and its reconnect is served by the other site,
and the websocket on the surviving one keeps receiving frames."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from citypulse.cli.stack import app_processes
from citypulse.config import StackSettings
from citypulse.processes import Daemon
from infra.haproxy import config as haproxy
from tests.integration.support import settings_env, wait_for

PORTS = {"api_port": 28000, "api_port_a": 28001, "api_port_b": 28002}
pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
                       reason="HAProxy is not installed (scripts/bootstrap.sh installs it)"),
]  # fmt: skip


def _beat(settings: StackSettings, stop: threading.Event) -> None:
    """A stream worker's heartbeat, so /health is 200 (the worker itself is not the
    subject here)."""
    with psycopg.connect(settings.db_conninfo, autocommit=True) as conn:
        while not stop.is_set():
            conn.execute(
                "INSERT INTO worker_heartbeats (worker_id, role, host, pid, started_at, "
                "last_seen) VALUES ('w1', 'stream-worker', 'h', 1, now(), now()) "
                "ON CONFLICT (worker_id) DO UPDATE SET last_seen = now()"
            )
            stop.wait(1)


class Site:
    def __init__(self, settings: StackSettings, tmp: Path) -> None:
        self.settings, self.tmp = settings, tmp
        self.daemons: dict[str, Daemon] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        d = Daemon(name, self.tmp / "run", self.tmp / "log")
        d.start(argv, marker=argv[-1] if name == "haproxy" else "dashboard_api.main:app",
                env=env)  # fmt: skip
        self.daemons[name] = d

    def explain(self) -> str:
        return "\n".join(f"--- {n}\n{d.log_tail()}" for n, d in self.daemons.items())


@pytest.fixture
def site(isolated: StackSettings, tmp_path: Path) -> Iterator[Site]:
    s = isolated.model_copy(update={"ha": True, "var_dir": tmp_path / "var", **PORTS})
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(s, stop), daemon=True)
    beat.start()
    site = Site(s, tmp_path)
    env = {**settings_env(s), "CITYPULSE_WS_HEARTBEAT_S": "1"}
    try:
        for p in app_processes(s):
            if p.name.startswith("api"):
                site.start(p.name, p.argv(s), {**env, **p.env})
        site.start("haproxy", haproxy.prepare(s), {})
        yield site
    finally:
        stop.set()
        for d in site.daemons.values():
            d.stop(10)
        beat.join(timeout=5)


def _health(base: str) -> int:
    try:
        return httpx.get(f"{base}/health", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def _frame(ws: ClientConnection) -> dict[str, object]:
    frame: dict[str, object] = json.loads(ws.recv(timeout=5))
    return frame


def test_haproxy_serves_health_and_websockets_when_one_api_dies(site: Site) -> None:
    s = site.settings
    base = s.api_url
    assert [p.name for p in app_processes(s) if p.name.startswith("api")] == ["api-a", "api-b"]
    # Both sites in service: HAProxy's checks pass on each (every answer 200 for a while).
    wait_for(lambda: all(_health(f"http://{s.api_host}:{p}") == 200
                         for p in (s.api_port_a, s.api_port_b)), 45,
             "both APIs healthy", site.explain)  # fmt: skip
    wait_for(lambda: _health(base) == 200, 15, "/health through HAProxy", site.explain)
    time.sleep(2.5)  # rise 2 at 1 s: both servers up in HAProxy
    url = f"ws://{s.api_host}:{s.api_port}/ws/areas"
    # leastconn: the second websocket goes to the other site.
    sockets = [connect(url, open_timeout=10), connect(url, open_timeout=10)]
    for ws in sockets:
        _frame(ws)

    pid = site.daemons["api-a"].pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)  # its own process group (Daemon)
    killed_at = time.monotonic()
    answers = []
    while time.monotonic() - killed_at < 6:
        answers.append(_health(base))
        time.sleep(0.1)
    failed = [a for a in answers if a != 200]
    print(f"\n/health through HAProxy after the kill: {len(answers) - len(failed)} of "  # noqa: T201
          f"{len(answers)} answered 200")  # fmt: skip
    assert len(failed) <= 1, f"answers after api-a's kill: {answers}"

    closed, alive = [], []
    for ws in sockets:
        try:
            for _ in range(3):  # heartbeats every second on the surviving site
                _frame(ws)
            alive.append(ws)
        except (ConnectionClosed, TimeoutError):
            closed.append(ws)
    assert len(closed) == 1 and len(alive) == 1, "one websocket per site"
    started = time.monotonic()
    with connect(url, open_timeout=10) as again:  # the dashboard reconnects
        assert _frame(again)["type"]
        print(f"websocket reconnected in {time.monotonic() - started:.2f} s")  # noqa: T201
    for ws in sockets:
        ws.close()
