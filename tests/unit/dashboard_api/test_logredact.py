"""No credential in a query string reaches the API's log lines."""

from __future__ import annotations

import io
import logging

import pytest

from dashboard_api.core import logredact

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcGVyYXRvciJ9.c2lnbmF0dXJl"  # noqa: S105


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"/ws/live?token={TOKEN}", "/ws/live?[redacted]"),
        (f"/ws/live?zones=false&token={TOKEN}", "/ws/live?[redacted]"),
        (f"/ws/live?ACCESS_TOKEN={TOKEN}&x=1", "/ws/live?[redacted]"),
        ("/ws/live?ticket=abc123", "/ws/live?[redacted]"),
        ("/sms/dlr/kannel?message_id=4&sig=0a1b&type=1", "/sms/dlr/kannel?[redacted]"),
        ('"GET /x?password=hunter2 HTTP/1.1" 200', '"GET /x?[redacted] HTTP/1.1" 200'),
        ("/ws/live?zones=false&auth=1", "/ws/live?zones=false&auth=1"),
        ("/api/v1/areas?district=마포구", "/api/v1/areas?district=마포구"),
        ("invalid or expired token", "invalid or expired token"),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert logredact.redact(line) == expected


@pytest.mark.parametrize("name", logredact.LOGGERS)
def test_uvicorn_lines_are_redacted_as_written(name: str) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logredact.install()
        logredact.install()  # idempotent: one filter
        assert sum(isinstance(f, logredact.RedactQueryStrings) for f in logger.filters) == 1
        # uvicorn's own formats: access line args, and the websocket line on uvicorn.error
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/?token={TOKEN}", "1.1", 200)
        logger.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", f"/ws/live?token={TOKEN}")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    text = out.getvalue()
    assert TOKEN not in text and "c2lnbmF0dXJl" not in text
    assert text.count("?[redacted]") == 2
