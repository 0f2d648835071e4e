"""An API process whose database does not answer: every DB-backed route says 503 with a
JSON reason, promptly, and never 500 or a hang.

The database here is a closed port (and Kafka another), so the test disturbs none of the
shared test services; what the API sees is what it sees while PostgreSQL is stopped.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alerts.providers.kannel_dlr import dlr_signature
from citypulse.processes import Daemon
from tests.integration.support import wait_for

pytestmark = [pytest.mark.integration]
DLR_SECRET = "database-down-test-dlr-secret"  # noqa: S105
# The client's own limit: a route that hangs fails here instead of passing late. The API
# gives up on the database after its pool timeout (3 s by default).
CLIENT_TIMEOUT_S = 15.0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # released: nothing listens there


@pytest.fixture
def api_without_database(tmp_path: Path) -> Iterator[str]:
    port = _closed_port()
    d = Daemon("api", tmp_path / "run", tmp_path / "log")
    env = {
        "CITYPULSE_ENV": "test",
        "CITYPULSE_VAR_DIR": str(tmp_path / "var"),
        "CITYPULSE_DB_PORT": str(_closed_port()),
        "CITYPULSE_KAFKA_PORT": str(_closed_port()),
        "CITYPULSE_API_PORT": str(port),
        "CITYPULSE_SMS_DLR_SECRET": DLR_SECRET,
    }
    d.start(
        [sys.executable, "-m", "uvicorn", "dashboard_api.main:app", "--host", "127.0.0.1",
         "--port", str(port)],
        marker="dashboard_api.main:app",
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            httpx.get(f"{base}/openapi.json", timeout=2)
            return True
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, 30, "the API to answer", d.log_tail)
        yield base
    finally:
        d.stop(10)


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/v1/feeds", {}),
        ("GET", "/api/v1/areas", {}),
        ("GET", "/api/v1/areas/POI009/history", {}),
        ("GET", "/api/v1/alerts", {}),  # the connection is asked for before the caller
        ("POST", "/api/v1/auth/token", {"data": {"username": "operator", "password": "x"}}),
    ],
)
def test_database_routes_answer_503_with_a_reason(
    api_without_database: str, method: str, path: str, kwargs: dict[str, object]
) -> None:
    answer = httpx.request(
        method, f"{api_without_database}{path}", timeout=CLIENT_TIMEOUT_S, **kwargs
    )
    assert answer.status_code == 503, answer.text
    assert answer.json()["detail"] == "database unavailable, retry shortly"
    assert answer.headers["retry-after"].isdigit()


def test_health_says_the_database_is_down(api_without_database: str) -> None:
    answer = httpx.get(f"{api_without_database}/health", timeout=CLIENT_TIMEOUT_S)
    assert answer.status_code == 503
    body = answer.json()
    assert body["components"]["database"]["status"] == "down"
    assert body["components"]["worker"]["status"] == "down"


def test_a_signed_delivery_report_is_503_so_kannel_calls_again(api_without_database: str) -> None:
    params = {"message_id": "42", "sig": dlr_signature(DLR_SECRET, "42"), "type": "1"}
    answer = httpx.get(
        f"{api_without_database}/sms/dlr/kannel", params=params, timeout=CLIENT_TIMEOUT_S
    )
    assert answer.status_code == 503
    forged = httpx.get(
        f"{api_without_database}/sms/dlr/kannel",
        params={"message_id": "42", "type": "8"},
        timeout=CLIENT_TIMEOUT_S,
    )
    assert forged.status_code == 403  # refused before the database is asked
