"""A headless Debian Chromium driven over the DevTools protocol (CDP), for the e2e tests
that use the dashboard as a person would: no WebDriver, no extra package."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.integration.support import wait_for

CHROMIUM = "/usr/bin/chromium"


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
                # A control-room browser is set to allow the alert sound without a click.
                "--autoplay-policy=no-user-gesture-required",
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

    def open(
        self, url: str, ready: str = "document.body && document.body.dataset.ready === 'true'"
    ) -> Page:
        targets = httpx.get(f"http://127.0.0.1:{self.port}/json/list", timeout=5).json()
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Page.navigate", url=url)
        page.wait(ready, 30, f"{url} to render")
        return page

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def sign_in(page: Page, user: str, password: str, ready: str, timeout_s: float = 20) -> None:
    """Sign in through the page's own form, then wait for `ready` (what that role sees)."""
    page.js(
        f"document.getElementById('user').value={user!r};"
        f"document.getElementById('pass').value={password!r};"
        "document.getElementById('login').requestSubmit(); true"
    )
    page.wait(ready, timeout_s, f"{user} signed in")


def fill_and_submit(page: Page, form: str, values: dict[str, str]) -> None:
    """Set the named fields of the form matching the CSS selector `form` and submit it."""
    sets = "".join(f"f.elements[{k!r}].value = {v!r};" for k, v in values.items())
    page.js(
        f"(() => {{ const f = document.querySelector({form!r}); {sets}"
        " f.requestSubmit(); return true; })()"
    )
