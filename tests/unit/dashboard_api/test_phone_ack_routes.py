"""The phone routes refuse what they must before any database work (no pool here: a
route that reached for one would fail the test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from alerts.phone_ack.links import sign_link
from alerts.phone_ack.replies import mo_route_key
from alerts.providers.settings import SmsSettings
from dashboard_api.api.phone_ack import MO_PATH, build_phone_ack_router
from dashboard_api.core.logredact import redact

SECRET = "unit-test-ack-secret-0123456789abcdef"  # noqa: S105


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(build_phone_ack_router(SmsSettings(ack_secret=SecretStr(SECRET))))
    return TestClient(app, raise_server_exceptions=False)


def _token(expires: datetime) -> str:
    return sign_link(SECRET, 42, 7, expires).token


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("token", "status", "says"),
    [
        ("not-a-token", 404, "Not an acknowledgement link"),
        (_token(datetime.now(UTC) + timedelta(hours=1))[:-1] + "~", 404, "Not an"),
        (sign_link("another-secret", 42, 7, datetime(2099, 1, 1, tzinfo=UTC)).token, 404,
         "Not an"),
        (_token(datetime.now(UTC) - timedelta(seconds=1)), 410, "expired"),
        ("%00" * 30, 404, "Not an"),
    ],
)  # fmt: skip
def test_refused_links_never_reach_the_database(
    client: TestClient, method: str, token: str, status: int, says: str
) -> None:
    response = client.request(method, f"/a/{token}")
    assert response.status_code == status
    assert says in response.text
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "01012345678", "text": "1"}, 403),  # no key
        ({"secret": "0" * 32, "from": "01012345678", "text": "1"}, 403),
        ({"secret": mo_route_key("other"), "from": "01012345678", "text": "1"}, 403),
        ({"secret": mo_route_key(SECRET), "from": "01012345678", "text": "hello"}, 200),
        ({"secret": mo_route_key(SECRET), "from": "01012345678", "text": "1" * 5000}, 200),
        ({"secret": mo_route_key(SECRET), "text": "stop"}, 200),
    ],
)
def test_the_reply_route_takes_only_kannel_and_answers_nothing(
    client: TestClient, params: dict[str, str], status: int
) -> None:
    response = client.get(MO_PATH, params=params)
    assert response.status_code == status
    assert response.text == ""  # nothing is texted back, and no number in any answer


def test_links_and_reply_queries_are_cut_from_access_logs() -> None:
    token = _token(datetime(2099, 1, 1, tzinfo=UTC))
    line = f'"POST /a/{token} HTTP/1.1" 200 / "GET {MO_PATH}?secret=ab&from=%2B821012345678&text=1"'
    cut = redact(line)
    assert token not in cut and "821012345678" not in cut
    assert "/a/[redacted]" in cut
