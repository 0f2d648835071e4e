"""The dashboard in Debian's headless Chromium against a running stack (`citypulse up`).

Chromium is driven over the Chrome DevTools Protocol with the `websockets` client: no
Playwright or Selenium download. Two browsers (two processes, two profiles) watch the
same stack; screenshots of the wall and the phone layout go to docs/screenshots/.
Run: CITYPULSE_TEST_KEEP_SERVICES=1 .venv/bin/pytest -m e2e tests/e2e/test_e2e_dashboard.py
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from websockets.sync.client import ClientConnection, connect

from citypulse.config import REPO_ROOT, StackSettings
from sensors.events import PopulationEstimate
from sensors.publisher import KafkaEventPublisher
from sensors.registry import load_hotspots
from tests.integration.support import settings_env, wait_for

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
SHOTS = REPO_ROOT / "docs" / "screenshots"
STACK = StackSettings(
    env="test",
    var_dir=REPO_ROOT / "var" / "e2e-dashboard",
    kafka_port=49092,
    kafka_controller_port=49093,
    db_port=45532,
    api_port=48000,
)
# Persons/m² handed out over the areas in turn: a varied city, mostly 정상, some 관심/주의.
CALM = (0.4, 0.6, 0.8, 0.5, 1.1, 0.7, 1.2, 1.7, 0.9, 1.6, 2.3)


class Page:
    """One browser tab over CDP: evaluate JS, emulate a screen, take screenshots."""

    def __init__(self, ws_url: str) -> None:
        self.ws: ClientConnection = connect(ws_url, max_size=None, open_timeout=10, legacy=True)
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=30))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def js(self, expression: str) -> Any:
        r = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screen(self, width: int, height: int, mobile: bool = False) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=2 if mobile else 1,
            mobile=mobile,
        )

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot")["data"]))

    def wait(self, expression: str, timeout_s: float, what: str) -> float:
        started = time.monotonic()
        # `!!`: a DOM node comes back by value as {}, which Python reads as false.
        wait_for(lambda: bool(self.js(f"!!({expression})")), timeout_s, what)
        return time.monotonic() - started


class Browser:
    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--window-size=1920,1080",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        wait_for(port_file.exists, 20, "Chromium's DevTools port")
        self.port = int(port_file.read_text().split()[0])

    def open(self, url: str) -> Page:
        targets = httpx.get(f"http://127.0.0.1:{self.port}/json/list", timeout=5).json()
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Page.navigate", url=url)
        page.wait("document.body && document.body.dataset.ready === 'true'", 30, "the dashboard")
        return page

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    # WEB_PORT: Faust binds its (disabled) web port anyway; keep clear of other stacks.
    env = {**os.environ, **settings_env(STACK), "WEB_PORT": "48066"}
    return subprocess.run(
        [sys.executable, "-m", "citypulse.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=REPO_ROOT,
    )


def publish_crowds(people: dict[str, float], ago_s: float = 0) -> None:
    now = datetime.now(UTC) - timedelta(seconds=ago_s)
    pub = KafkaEventPublisher(STACK.kafka_bootstrap, STACK.topic("city-events.v1"))
    for code, n in people.items():
        pub.publish(
            PopulationEstimate(
                event_id=f"e2e-{code}-{now.timestamp()}",
                source="e2e",
                event_time=now,
                ingest_time=now,
                area_code=code,
                people_min=round(n * 0.95),
                people_max=round(n * 1.05),
            )
        )
    pub.close()


@pytest.fixture(scope="module")
def stack() -> Iterator[str]:
    up = cli("up", "--no-simulator")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield STACK.api_url
    finally:
        cli("down")


@pytest.fixture
def browsers() -> Iterator[tuple[Browser, Browser]]:
    tmp = Path(tempfile.mkdtemp(prefix="cp-chromium-"))
    a, b = Browser(tmp / "a"), Browser(tmp / "b")
    try:
        yield a, b
    finally:
        a.close()
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)


def sign_in(page: Page) -> None:
    page.js(
        "document.getElementById('user').value='operator';"
        "document.getElementById('pass').value='operator-dev-password';"
        "document.getElementById('login').requestSubmit(); true"
    )
    page.wait("!document.getElementById('alert-panel').hidden", 10, "the alert panel")


def test_dashboard_map_surge_acknowledge_and_screenshots(
    stack: str, browsers: tuple[Browser, Browser]
) -> None:
    hotspots = load_hotspots()
    walkable = {h.code: h.walkable_m2 for h in hotspots}
    # An area that never alerted, so a stack reused from an earlier run fires afresh.
    with psycopg.connect(STACK.db_conninfo) as conn:
        alerted = {r[0] for r in conn.execute("SELECT DISTINCT area_code FROM alerts")}
    surge_area = next(h.code for h in hotspots if h.code not in alerted and h.code >= "POI009")
    # Event time drives the alert hold (60 s): a calm city 3 min ago, the surge 90 s ago
    # and now, so the alert fires on the second surge reading without waiting a minute.
    calm = {code: CALM[i % len(CALM)] * m2 for i, (code, m2) in enumerate(walkable.items())}
    calm[surge_area] = 0.5 * walkable[surge_area]
    publish_crowds(calm, ago_s=180)
    wait_for(
        lambda: (
            len(
                [
                    f
                    for f in httpx.get(f"{stack}/api/v1/areas", timeout=5).json()["features"]
                    if f["properties"]["state"]
                ]
            )
            == len(hotspots)
        ),
        60,
        "every area to have a state",
    )
    a, b = browsers
    wall = a.open(stack)
    wall.screen(1920, 1080)
    assert wall.js("document.querySelectorAll('svg#map polygon').length") == 120
    poly = f"document.querySelector('polygon[data-code=\"{surge_area}\"]')"
    assert wall.js(f"{poly}.dataset.stage") == "normal"
    calm_fill = wall.js(f"getComputedStyle({poly}).fill")
    sign_in(wall)
    phone = b.open(stack)
    sign_in(phone)

    publish_crowds({surge_area: 3.6 * walkable[surge_area]}, ago_s=90)  # 경계: 3-5 persons/m²
    took = wall.wait(f"['alert','serious'].includes({poly}.dataset.stage)", 10, "the surge colour")
    assert wall.js(f"getComputedStyle({poly}).fill") != calm_fill
    print(f"surge coloured in {took:.2f} s")  # noqa: T201 - reported by the e2e run

    publish_crowds({surge_area: 3.7 * walkable[surge_area]})
    item = "document.querySelector('#alerts li.alert[data-status=\"open\"]')"
    wall.wait(item, 60, "the surge's alert in the operator panel")
    alert_id = wall.js(f"{item}.dataset.alertId")
    phone.wait(f"document.querySelector('li[data-alert-id=\"{alert_id}\"]')", 15, "alert in B")
    wall.js(f"{item}.querySelector('button.ack').click(); true")
    seen = phone.wait(
        f"document.querySelector('li[data-alert-id=\"{alert_id}\"]')"
        "?.dataset.status === 'acknowledged'",
        10,
        "the acknowledgement in B",
    )
    print(f"acknowledgement seen by the second browser in {seen:.2f} s")  # noqa: T201

    # Both pages signed their live streams in by first message: the token is nowhere in
    # the API's log (it used to be, in every /ws/live access line), and the log is private.
    token = str(wall.js("sessionStorage.getItem('cp-token')"))
    api_log = STACK.log_dir / "api.log"
    logged = api_log.read_text(errors="replace")
    assert len(token) > 40 and "/ws/live?" in logged
    assert token not in logged and token.rsplit(".", 1)[-1] not in logged
    assert api_log.stat().st_mode & 0o007 == 0

    assert wall.js("document.getElementById('list-title').textContent") == "위험 순위"
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The wall in Korean (bootstrap installs fonts-nanum so Chromium renders Hangul), the
    # phone in English: one screenshot of each language.
    phone.js("document.getElementById('lang').click(); true")
    assert phone.js("document.getElementById('list-title').textContent") == "Highest risk"
    assert wall.js("document.getElementById('list-title').textContent") == "위험 순위"
    wall.js(f"select('{surge_area}')")
    time.sleep(1.0)
    wall.screenshot(SHOTS / "dashboard_wall_1920x1080.png")
    phone.screen(390, 844, mobile=True)
    time.sleep(1.0)
    phone.screenshot(SHOTS / "dashboard_phone_390x844.png")
