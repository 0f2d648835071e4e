"""Sign-in through the city's identity provider, against a provider in process
(tests/fake_oidc_provider.py): the whole browser round trip through the API's middleware and
routes, with the accounts table and the audit as stand-ins (no database here).

A linked, enabled account gets the same CityPulse token a password sign-in gives, handed
to the page once through an HttpOnly cookie (never a URL). A wrong nonce, audience,
issuer or signature, an expired token, a replayed or foreign state, an unknown subject
and a disabled account are each refused, audited with the reason, and count toward the
per-address backoff; random query strings never give a 500.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from citypulse.settings import Settings
from dashboard_api.api import deps
from dashboard_api.api.routes import oidc as oidc_routes
from dashboard_api.core.logredact import redact
from dashboard_api.core.oidc import OidcClient
from dashboard_api.core.security import decode_token, password_version
from dashboard_api.main import create_app
from dashboard_api.store import oidc_states, users
from tests.fake_oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    FakeProvider,
    _private_key,
)

SECRET = "j" * 40
BASE = "https://citypulse.test"
CHANGED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ACCOUNTS = {
    "kim.op": {"oidc_subject": "idp-sub-kim", "active": True, "role": "operator"},
    "lee.op": {"oidc_subject": "idp-sub-lee", "active": False, "role": "operator"},
    "park.admin": {"oidc_subject": "park@seoul.go.kr", "active": True, "role": "admin"},
}


def _account(username: str) -> dict[str, Any]:
    return {"username": username, "password_changed_at": CHANGED, "display_name": "",
            "agency": "city", "districts": [], **ACCOUNTS[username]}  # fmt: skip


class Store:
    """The accounts table, the spent states and the audit, in memory."""

    def __init__(self) -> None:
        self.audit: list[dict[str, Any]] = []
        self.spent: set[str] = set()

    async def by_subject(self, conn: Any, subject: str) -> dict[str, Any] | None:
        name = next((u for u, a in ACCOUNTS.items() if a["oidc_subject"] == subject), None)
        return _account(name) if name else None

    async def by_name(self, conn: Any, username: str) -> dict[str, Any] | None:
        return _account(username) if username in ACCOUNTS else None

    async def record(self, conn: Any, actor: str, role: str, action: str, target: str,
                     data: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.audit.append({"actor": actor, "role": role, "action": action, **(data or {})})

    async def spend(self, conn: Any, state: str) -> bool:
        fresh = state not in self.spent
        self.spent.add(state)
        return fresh


class Conn:
    async def commit(self) -> None:
        pass


def _app(provider: FakeProvider, store: Store, mp: pytest.MonkeyPatch, **api: Any) -> FastAPI:
    config = Settings.from_env()
    update = {
        "jwt_secret": SecretStr(SECRET), "rate_limit_burst": 10_000,
        "oidc_issuer": ISSUER, "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": SecretStr(CLIENT_SECRET),
        "oidc_redirect_url": f"{BASE}/api/v1/auth/oidc/callback", **api,
    }  # fmt: skip
    settings = config.api.model_copy(update=update)
    app = create_app(config.stack, settings, config.sms)
    app.state.oidc = OidcClient(settings, transport=provider.transport())

    async def conn() -> AsyncIterator[Conn]:
        yield Conn()

    app.dependency_overrides[deps._connection] = conn
    mp.setattr(users, "find_account_by_oidc", store.by_subject)
    mp.setattr(users, "find_account", store.by_name)
    mp.setattr(users, "record_action", store.record)
    mp.setattr(oidc_states, "spend_state", store.spend)
    return app


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def client(provider: FakeProvider, store: Store) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as mp:
        yield TestClient(_app(provider, store, mp), base_url=BASE)


def _start(client: TestClient) -> dict[str, list[str]]:
    r = client.get("/api/v1/auth/oidc/login", follow_redirects=False)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(f"{ISSUER}/auth?")
    return parse_qs(urlsplit(location).query)


def _callback(client: TestClient, query: dict[str, str]) -> Any:
    return client.get(f"/api/v1/auth/oidc/callback?{urlencode(query)}", follow_redirects=False)


def _sign_in(client: TestClient, provider: FakeProvider, **claims: Any) -> Any:
    query = _start(client)
    code = provider.authorize(query, **claims)
    return _callback(client, {"code": code, "state": query["state"][0]})


def test_a_linked_account_signs_in_with_the_same_token_as_a_password(
    client: TestClient, provider: FakeProvider, store: Store
) -> None:
    query = _start(client)
    assert query["redirect_uri"] == [f"{BASE}/api/v1/auth/oidc/callback"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    pending = client.cookies.get(oidc_routes.PENDING_COOKIE)
    assert pending and query["state"][0] not in pending  # signed, not the bare state
    code = provider.authorize(query)
    r = _callback(client, {"code": code, "state": query["state"][0]})
    assert r.status_code == 303 and r.headers["location"] == "/#oidc=signed-in"
    set_cookie = r.headers.get_list("set-cookie")
    handoff = next(c for c in set_cookie if c.startswith(oidc_routes.HANDOFF_COOKIE))
    assert "HttpOnly" in handoff and "Secure" in handoff and "SameSite=strict" in handoff
    assert "eyJ" not in r.headers["location"]  # no token in any URL
    session = client.post("/api/v1/auth/oidc/session")
    assert session.status_code == 200, session.text
    body = session.json()
    assert body["username"] == "kim.op" and body["role"] == "operator"
    claims = decode_token(body["access_token"], SECRET)  # what /auth/token would issue
    assert claims["sub"] == "kim.op" and claims["pwv"] == password_version(CHANGED)
    assert 0 < body["expires_in"] <= 8 * 3600
    assert client.post("/api/v1/auth/oidc/session").status_code == 401  # collected once
    assert store.audit == [
        {"actor": "kim.op", "role": "operator", "action": "auth.login",
         "address": "testclient", "method": "oidc"},
    ]  # fmt: skip


def test_the_login_cookie_is_bound_to_the_browser_and_short_lived(client: TestClient) -> None:
    r = client.get("/api/v1/auth/oidc/login", follow_redirects=False)
    cookie = next(
        c for c in r.headers.get_list("set-cookie") if c.startswith(oidc_routes.PENDING_COOKIE)
    )
    for part in ("HttpOnly", "Secure", "SameSite=lax", "Path=/api/v1/auth/oidc/callback",
                 f"Max-Age={oidc_routes.PENDING_TTL_S}"):  # fmt: skip
        assert part in cookie


OTHER_KEY = _private_key()
REFUSALS = [
    pytest.param({"nonce": "not-the-one-we-sent"}, "bad nonce", id="wrong nonce"),
    pytest.param({"aud": "another-client"}, "bad token", id="wrong audience"),
    pytest.param({"aud": [CLIENT_ID, "another"]}, "bad token", id="two audiences, no azp"),
    pytest.param({"iss": "https://evil.test"}, "bad token", id="wrong issuer"),
    pytest.param({"exp": int(time.time()) - 600}, "bad token", id="expired"),
    pytest.param({"nonce": None}, "bad token", id="no nonce"),
    pytest.param({"sign_with": OTHER_KEY}, "bad signature", id="bad signature"),
    pytest.param({"sub": "idp-sub-stranger"}, "unknown subject", id="unknown subject"),
    pytest.param({"sub": "idp-sub-lee"}, "disabled", id="disabled account"),
]


@pytest.mark.parametrize(("claims", "reason"), REFUSALS)
def test_each_bad_sign_in_is_refused_and_audited(
    client: TestClient, provider: FakeProvider, store: Store, claims: dict[str, Any], reason: str
) -> None:
    r = _sign_in(client, provider, **claims)
    assert r.status_code == 303
    assert r.headers["location"] == f"/#oidc_error={reason.replace(' ', '_')}"
    assert not any(
        c.startswith(oidc_routes.HANDOFF_COOKIE) for c in r.headers.get_list("set-cookie")
    )
    assert client.post("/api/v1/auth/oidc/session").status_code == 401
    assert [(a["action"], a["reason"], a["method"]) for a in store.audit] == [
        ("auth.failed", reason, "oidc")
    ]
    if reason == "disabled":
        assert store.audit[0]["actor"] == "lee.op"


def test_a_replayed_state_is_refused_before_the_provider_is_asked(
    client: TestClient, provider: FakeProvider, store: Store
) -> None:
    query = _start(client)
    pending = client.cookies.get(oidc_routes.PENDING_COOKIE)
    code = provider.authorize(query)
    callback = {"code": code, "state": query["state"][0]}
    assert _callback(client, callback).headers["location"] == "/#oidc=signed-in"
    calls = provider.token_calls
    client.cookies.set(oidc_routes.PENDING_COOKIE, pending or "", path="/api/v1/auth/oidc/callback")
    again = _callback(client, callback)  # the same URL and cookie, e.g. from a proxy log
    assert again.headers["location"] == "/#oidc_error=bad_state"
    assert provider.token_calls == calls
    assert store.audit[-1]["detail"] == "replayed"


def test_a_state_from_another_browser_or_none_is_refused(
    client: TestClient, provider: FakeProvider, store: Store
) -> None:
    query = _start(client)
    code = provider.authorize(query)
    stranger = TestClient(client.app, base_url=BASE)  # no pending cookie: login CSRF
    r = _callback(stranger, {"code": code, "state": query["state"][0]})
    assert r.headers["location"] == "/#oidc_error=bad_state"
    r = _callback(client, {"code": code, "state": "x" * 43})  # not this browser's state
    assert r.headers["location"] == "/#oidc_error=bad_state"
    assert _callback(client, {"code": code}).headers["location"] == "/#oidc_error=bad_state"
    assert provider.token_calls == 0
    assert [a["reason"] for a in store.audit] == ["bad state"] * 3


def test_the_providers_own_refusal_is_audited(client: TestClient, store: Store) -> None:
    _start(client)
    r = _callback(client, {"error": "access_denied", "state": "s"})
    assert r.headers["location"] == "/#oidc_error=idp_error"
    assert store.audit[-1]["reason"] == "idp error"
    assert store.audit[-1]["detail"] == "access_denied"


def test_failures_from_one_address_back_off_like_wrong_passwords(
    provider: FakeProvider, store: Store
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        # A long first wait, so a slow machine cannot outlast it between two requests.
        client = TestClient(_app(provider, store, mp, login_backoff_base_s=600), base_url=BASE)
        for _ in range(4):  # login_free_failures is 3: the fourth starts the wait
            _callback(client, {"code": "c", "state": "s"})
        r = _callback(client, {"code": "c", "state": "s"})
        assert r.headers["location"] == "/#oidc_error=throttled"
        assert store.audit[-1]["action"] == "auth.refused"
        login = client.get("/api/v1/auth/oidc/login", follow_redirects=False)
        assert login.headers["location"] == "/#oidc_error=throttled"


def test_a_good_sign_in_clears_the_addresses_failures(
    client: TestClient, provider: FakeProvider
) -> None:
    for _ in range(2):
        for _ in range(3):  # as many as are free
            _callback(client, {"code": "c", "state": "s"})
        assert _sign_in(client, provider).headers["location"] == "/#oidc=signed-in"


def test_an_email_claim_must_be_verified(provider: FakeProvider, store: Store) -> None:
    with pytest.MonkeyPatch.context() as mp:
        app = _app(provider, store, mp, oidc_account_claim="email")
        client = TestClient(app, base_url=BASE)
        r = _sign_in(client, provider, email="park@seoul.go.kr", email_verified=False)
        assert r.headers["location"] == "/#oidc_error=unknown_subject"
        r = _sign_in(client, provider, email="park@seoul.go.kr", email_verified=True)
        assert r.headers["location"] == "/#oidc=signed-in"
        assert client.post("/api/v1/auth/oidc/session").json()["username"] == "park.admin"


def test_everything_is_off_until_an_issuer_is_set(provider: FakeProvider, store: Store) -> None:
    with pytest.MonkeyPatch.context() as mp:
        client = TestClient(_app(provider, store, mp, oidc_issuer=""), base_url=BASE)
        assert client.get("/api/v1/auth/oidc").json() == {"enabled": False, "label": ""}
        for method, path in (("GET", "/login"), ("GET", "/callback?code=c&state=s"),
                             ("POST", "/session")):  # fmt: skip
            r = client.request(method, f"/api/v1/auth/oidc{path}", follow_redirects=False)
            assert r.status_code == 404 and r.headers["x-error-code"] == "oidc_off"
    assert provider.discovery_calls == 0 and store.audit == []


def test_the_page_learns_the_button_label(provider: FakeProvider, store: Store) -> None:
    with pytest.MonkeyPatch.context() as mp:
        app = _app(provider, store, mp, oidc_button_label="서울시 통합인증")
        body = TestClient(app, base_url=BASE).get("/api/v1/auth/oidc").json()
    assert body == {"enabled": True, "label": "서울시 통합인증"}


_text = st.text(st.characters(codec="utf-8"), max_size=60)
_queries = st.one_of(
    st.dictionaries(st.sampled_from(["code", "state", "error", "x", "session_state"]), _text),
    st.lists(st.tuples(_text, _text), max_size=5),
).map(lambda q: urlencode(q if isinstance(q, list) else list(q.items())))


def test_random_callback_queries_never_give_a_500(provider: FakeProvider) -> None:
    store = Store()
    with pytest.MonkeyPatch.context() as mp:
        # No backoff here: every refusal must be a clear answer, not a throttled one.
        app = _app(provider, store, mp, login_free_failures=10**9, login_address_lock_after=10**9)
        client = TestClient(app, base_url=BASE)
        _start(client)  # a pending sign-in: random states meet a real cookie
        pending = client.cookies.get(oidc_routes.PENDING_COOKIE) or ""

        @settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
        @given(query=st.one_of(_queries, st.text(max_size=200).map(lambda s: quote(s, "=&%+;/?"))))
        def check(query: str) -> None:
            client.cookies.set(oidc_routes.PENDING_COOKIE, pending, path=oidc_routes.CALLBACK_PATH)
            r = client.get(f"/api/v1/auth/oidc/callback?{query}", follow_redirects=False)
            assert r.status_code != 500
            if r.status_code == 303:
                assert r.headers["location"].startswith("/#oidc_error=")
                assert r.headers["location"] != "/#oidc_error=throttled"  # each one checked
            else:
                assert 400 <= r.status_code < 500, (query, r.status_code)

        check()
    assert provider.token_calls == 0


def test_the_providers_code_and_state_never_reach_a_log_line() -> None:
    line = '127.0.0.1:5 - "GET /api/v1/auth/oidc/callback?code=SplxlOB&state=af0ifjs HTTP/1.1" 303'
    assert redact(line) == (
        '127.0.0.1:5 - "GET /api/v1/auth/oidc/callback?[redacted] HTTP/1.1" 303'
    )


def test_random_cookies_never_give_a_500(provider: FakeProvider) -> None:
    """Both cookies are outside input too: anything but ours is a clear refusal."""
    store = Store()
    with pytest.MonkeyPatch.context() as mp:
        app = _app(provider, store, mp, login_free_failures=10**9, login_address_lock_after=10**9)
        client = TestClient(app, base_url=BASE)
        cookie_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                            exclude_characters=';,"\\'), max_size=300)  # fmt: skip

        @settings(max_examples=60, deadline=None)
        @given(value=st.one_of(cookie_text, st.just("eyJhbGciOiJub25lIn0.e30.")))
        def check(value: str) -> None:
            client.cookies.clear()
            client.cookies.set(oidc_routes.HANDOFF_COOKIE, value, path=oidc_routes.SESSION_PATH)
            assert client.post("/api/v1/auth/oidc/session").status_code == 401
            client.cookies.set(oidc_routes.PENDING_COOKIE, value, path=oidc_routes.CALLBACK_PATH)
            r = _callback(client, {"code": "c", "state": value or "s"})
            assert r.headers["location"] == "/#oidc_error=bad_state"

        check()
    assert provider.token_calls == 0
