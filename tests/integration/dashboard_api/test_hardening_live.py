"""The hardening list, each case against a real API process: rate limits no header
dodges, on every route; the proxy's address believed only from a configured proxy; 4xx
for bad parameters; errors that do not echo large bodies; security headers on the page."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.dashboard_api.conftest import ApiStack

LOW_LIMIT = {
    "CITYPULSE_RATE_LIMIT_BURST": "8",
    "CITYPULSE_RATE_LIMIT_PER_S": "0.01",
    "CITYPULSE_SMS_DLR_BURST": "3",
    "CITYPULSE_SMS_DLR_RATE_PER_S": "0.01",
}


def _until_limited(url: str, headers: dict[str, str], tries: int = 12) -> list[int]:
    return [httpx.get(url, headers=headers, timeout=10).status_code for _ in range(tries)]


@pytest.mark.api_env(**LOW_LIMIT)
def test_no_header_dodges_the_rate_limit_and_every_route_has_it(api_stack: ApiStack) -> None:
    staff = api_stack.auth("operator")  # before the address's bucket is spent
    base = api_stack.base
    # Any Authorization header that does not verify is an anonymous request.
    codes = _until_limited(f"{base}/api/v1/areas", {"Authorization": "Bearer x"})
    assert 429 in codes, codes
    # A rotated X-Forwarded-For from 127.0.0.1 (not a configured proxy) is ignored.
    for n in range(5):
        r = httpx.get(f"{base}/api/v1/areas", headers={"X-Forwarded-For": f"10.9.8.{n}"})
        assert r.status_code == 429, r.text
    for path in ("/health", "/metrics", "/", "/api/v1/map-config"):
        r = httpx.get(f"{base}{path}", timeout=10)
        assert r.status_code == 429 and "Retry-After" in r.headers, path
    # Signed-in staff draw from their own bucket: the public cannot lock them out.
    assert httpx.get(f"{base}/api/v1/alerts", headers=staff, timeout=10).status_code == 200
    # Kannel's delivery reports have a bucket of their own, limited too.
    dlr = _until_limited(f"{base}/sms/dlr/kannel?message_id=1&type=1", {}, tries=6)
    assert 429 in dlr, dlr


@pytest.mark.api_env(**LOW_LIMIT, CITYPULSE_TRUSTED_PROXIES='["127.0.0.1"]')
def test_a_configured_proxy_names_the_client(api_stack: ApiStack) -> None:
    url = f"{api_stack.base}/api/v1/areas"
    spent = _until_limited(url, {"X-Forwarded-For": "198.51.100.7"})
    assert spent[-1] == 429, spent
    # Another client behind the proxy has its own bucket ...
    other = httpx.get(url, headers={"X-Forwarded-For": "198.51.100.8"})
    assert other.status_code == 200
    # ... but what a client writes left of the proxy's own entry changes nothing.
    forged = httpx.get(url, headers={"X-Forwarded-For": "203.0.113.1, 198.51.100.7"})
    assert forged.status_code == 429


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/alerts?district=%00",
        "/api/v1/alerts?district=a%00b&limit=5",
        "/api/v1/silences?active_at=%00",
        "/api/v1/areas?district=%01",
        "/api/v1/opendata/crowdflow?district=%00",
    ],
)
def test_bad_parameters_are_4xx_never_500(api_stack: ApiStack, path: str) -> None:
    r = httpx.get(f"{api_stack.base}{path}", headers=api_stack.auth("operator"), timeout=10)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])


def test_errors_do_not_echo_large_bodies(api_stack: ApiStack) -> None:
    headers = api_stack.auth("operator")
    url = f"{api_stack.base}/api/v1/silences"
    huge = '{"area_code":"POI009","reason":"' + "x" * 20_000_000 + '"}'
    r = httpx.post(url, content=huge, headers={**headers, "Content-Type": "application/json"},
                   timeout=60)  # fmt: skip
    assert r.status_code == 413 and len(r.content) < 1000, (r.status_code, len(r.content))
    large = '{"area_code":"POI009","reason":"' + "y" * 1_000_000 + '"}'
    r = httpx.post(url, content=large, headers={**headers, "Content-Type": "application/json"},
                   timeout=60)  # fmt: skip
    assert r.status_code == 422 and len(r.content) < 4000, (r.status_code, len(r.content))
    assert "y" * 100 not in r.text


def test_the_page_sends_security_headers(api_stack: ApiStack) -> None:
    for path in ("/", "/index.html", "/api/v1/areas"):
        r = httpx.get(f"{api_stack.base}{path}", timeout=10)
        assert r.status_code == 200, path
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["X-Frame-Options"] == "DENY"
