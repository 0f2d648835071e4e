"""The hardening middleware and error handlers, in process (no database needed): the
rate limit on every route whatever the headers, 413/400 before a route runs, 422s that
do not echo what was sent, and the page's security headers."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import SecretStr

from citypulse.settings import Settings
from dashboard_api.core.errors import trimmed
from dashboard_api.core.headers import page_policy, tile_source
from dashboard_api.core.middleware import BodyLimit
from dashboard_api.core.security import encode_token
from dashboard_api.main import create_app


def _app(**api: object) -> FastAPI:
    config = Settings.from_env()
    return create_app(config.stack, config.api.model_copy(update=api), config.sms)


def test_no_authorization_header_skips_the_anonymous_limit() -> None:
    client = TestClient(_app(rate_limit_burst=3, rate_limit_per_s=0.001))
    codes = [
        client.get("/api/v1/map-config", headers={"Authorization": "Bearer x"}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    for path in ("/health", "/metrics", "/"):
        assert client.get(path).status_code == 429, path


def test_a_token_that_verifies_draws_from_the_staff_bucket() -> None:
    secret = "k" * 32
    app = _app(rate_limit_burst=1, rate_limit_per_s=0.001, jwt_secret=SecretStr(secret))
    client = TestClient(app)
    token = encode_token("kim.op", secret, int(time.time()), 60)
    client.get("/api/v1/map-config")
    assert client.get("/api/v1/map-config").status_code == 429
    staff = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/map-config", headers=staff).status_code == 200


def test_a_rotated_forwarded_for_is_ignored_without_configured_proxies() -> None:
    client = TestClient(_app(rate_limit_burst=2, rate_limit_per_s=0.001))
    codes = [
        client.get("/api/v1/map-config", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]


def test_oversized_bodies_and_control_characters_are_refused_before_a_route() -> None:
    client = TestClient(_app(max_body_bytes=1000))
    r = client.post("/api/v1/silences", content=b"x" * 5000)
    assert r.status_code == 413 and len(r.content) < 200
    for query in ("district=%00", "district=a%0Ab", "x=%7F"):
        r = client.get(f"/api/v1/alerts?{query}")
        assert r.status_code == 400, query


def test_a_delivery_report_quoting_an_lms_subject_line_reaches_its_route() -> None:
    # An SMSC's receipt text quotes the message: "[DRILL]\n[DRILL] ..." for an LMS. The
    # route checks the signature (403 here: unsigned) and cleans the text itself.
    client = TestClient(_app())
    query = "message_id=6&type=1&reply=id%3A1%20stat%3ADELIVRD%20text%3A%5BDRILL%5D%0A%5BDR"
    r = client.get(f"/sms/dlr/kannel?{query}")
    assert r.status_code == 403, r.text


def test_a_chunked_body_without_a_declared_size_is_refused_past_the_limit() -> None:
    app = _app(max_body_bytes=1000)
    assert any(m.cls is BodyLimit for m in app.user_middleware)  # the API installs it

    echo = FastAPI()
    echo.add_middleware(BodyLimit, max_body_bytes=1000)

    @echo.post("/echo")
    async def read(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    def chunks(n: int) -> Iterator[bytes]:
        yield from (b"x" * 400 for _ in range(n))

    client = TestClient(echo)
    r = client.post("/echo", content=chunks(10))  # 4,000 bytes, no Content-Length
    assert r.status_code == 413 and r.json() == {"detail": "request body too large"}
    assert client.post("/echo", content=chunks(2)).json() == {"bytes": 800}


def test_validation_errors_do_not_echo_large_values() -> None:
    errors = [
        {"loc": ("body", "reason"), "msg": "too long", "type": "string_too_long",
         "input": "z" * 1_000_000, "ctx": {"max_length": 200}},
        {"loc": ("body",), "msg": "bad", "type": "dict_type", "input": {"a": "z" * 10_000}},
    ] * 50  # fmt: skip
    out = trimmed(errors)
    assert len(out) == 20 and len(str(out)) < 10_000
    assert out[0]["input"] == "<str>" and out[1]["input"] == "<dict>"
    assert (
        trimmed([{"loc": ("query", "limit"), "msg": "m", "type": "t", "input": 5000}])[0]["input"]
        == 5000
    )


def test_the_page_sends_security_headers() -> None:
    client = TestClient(_app())
    r = client.get("/")
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    docs = client.get("/docs").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in docs


def test_the_base_map_tiles_are_allowed_as_images() -> None:
    assert tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == (
        "https://*.tile.openstreetmap.org"
    )
    assert tile_source("http://api.vworld.kr/req/wmts/1.0.0/KEY/Base/{z}/{y}/{x}.png") == (
        "http://api.vworld.kr"
    )
    assert tile_source("javascript:alert(1)") == ""
    assert "img-src 'self' data: blob: https://t.example" in page_policy("https://t.example/{z}")
