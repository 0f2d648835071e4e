"""Sign-in through an identity provider with the real API process and PostgreSQL: an
admin links an account (migration 0020), the browser's round trip signs it in with a
token the API accepts, a replayed callback is refused by the spent state in the
database, a disabled account is refused, and the audit has both.

The provider is tests/fake_oidc_provider.py served over HTTP on 127.0.0.1 from a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fake_oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider
from tests.integration.dashboard_api.conftest import ApiStack

STRONG = "kettle-orbit-7-lantern"


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = httpx.Request(
                self.command,
                f"{fake.issuer.split('/realms')[0]}{self.path}",
                headers=dict(self.headers.items()),
                content=self.rfile.read(length),
            )
            response = fake.handle(request)
            self.send_response(response.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.issuer = f"http://127.0.0.1:{server.server_address[1]}/realms/seoul"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api_extra_env(provider: FakeProvider) -> dict[str, str]:
    return {
        "CITYPULSE_OIDC_ISSUER": provider.issuer,
        "CITYPULSE_OIDC_CLIENT_ID": CLIENT_ID,
        "CITYPULSE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
    }


def _round_trip(browser: httpx.Client, provider: FakeProvider, **claims: Any) -> httpx.Response:
    r = browser.get("/api/v1/auth/oidc/login")
    assert r.status_code == 302, r.text
    query = parse_qs(urlsplit(r.headers["location"]).query)
    code = provider.authorize(query, **claims)
    callback = {"code": code, "state": query["state"][0]}
    return browser.get("/api/v1/auth/oidc/callback", params=callback)


@pytest.mark.integration
def test_a_linked_account_signs_in_through_the_provider(
    api_stack: ApiStack, provider: FakeProvider
) -> None:
    base = api_stack.base
    admin = api_stack.auth("admin")
    body = {"username": "kim.oidc", "password": STRONG, "role": "operator", "agency": "city",
            "districts": [], "display_name": "김연동"}  # fmt: skip
    assert httpx.post(f"{base}/api/v1/users", json=body, headers=admin).status_code == 201
    link = f"{base}/api/v1/users/kim.oidc/oidc"
    assert httpx.put(link, json={"subject": "idp-sub-kim"}, headers=admin).status_code == 204
    taken = httpx.put(
        f"{base}/api/v1/users/operator/oidc", json={"subject": "idp-sub-kim"}, headers=admin
    )
    assert taken.status_code == 409 and taken.headers["x-error-code"] == "oidc_linked"
    listed = {u["username"]: u for u in httpx.get(f"{base}/api/v1/users", headers=admin).json()}
    assert listed["kim.oidc"]["oidc_subject"] == "idp-sub-kim"
    assert listed["operator"]["oidc_subject"] is None

    with httpx.Client(base_url=base, timeout=10) as browser:
        assert browser.get("/api/v1/auth/oidc").json()["enabled"] is True
        r = _round_trip(browser, provider)
        assert r.status_code == 303 and r.headers["location"] == "/#oidc=signed-in", r.text
        session = browser.post("/api/v1/auth/oidc/session")
        assert session.status_code == 200, session.text
        token = session.json()["access_token"]
        me = httpx.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["username"] == "kim.oidc" and me.json()["role"] == "operator"

        # A callback replayed with its cookie (what a copied log and cookie would give).
        browser.cookies.clear()
        r = browser.get("/api/v1/auth/oidc/login")
        pending = r.cookies["cp_oidc_pending"]
        query = parse_qs(urlsplit(r.headers["location"]).query)
        callback = {"code": provider.authorize(query), "state": query["state"][0]}
        first = browser.get("/api/v1/auth/oidc/callback", params=callback)
        assert first.headers["location"] == "/#oidc=signed-in"
        browser.cookies.set("cp_oidc_pending", pending, path="/api/v1/auth/oidc/callback")
        again = browser.get("/api/v1/auth/oidc/callback", params=callback)
        assert again.headers["location"] == "/#oidc_error=bad_state"

    assert httpx.post(f"{base}/api/v1/users/kim.oidc/disable", headers=admin).status_code == 204
    with httpx.Client(base_url=base, timeout=10) as browser:
        r = _round_trip(browser, provider)
        assert r.headers["location"] == "/#oidc_error=disabled"
        assert browser.post("/api/v1/auth/oidc/session").status_code == 401

    audit = httpx.get(f"{base}/api/v1/audit?limit=100", headers=admin).json()
    oidc = [(a["action"], a["actor"], a["data"].get("reason")) for a in audit
            if a["data"].get("method") == "oidc"]  # fmt: skip
    assert ("auth.login", "kim.oidc", None) in oidc
    assert ("auth.failed", "anonymous", "bad state") in oidc
    assert ("auth.failed", "kim.oidc", "disabled") in oidc
    assert "code-" not in api_stack.log.read_text()  # the callback's query is cut from logs
