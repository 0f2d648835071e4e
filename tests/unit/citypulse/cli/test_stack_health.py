"""`up` waits for /health; in HA mode HAProxy answers first, with its own pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from citypulse.cli.stack import health
from citypulse.config import StackSettings


class _Answer(BaseHTTPRequestHandler):
    status, body, kind = 503, b"", "text/html"

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", self.kind)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize(
    ("status", "body", "kind", "want"),
    [
        (503, b"<html><body><h1>503 Service Unavailable</h1>No server is available"
              b"</body></html>", "text/html", "down"),  # HAProxy, no API up yet
        (503, b'{"status": "degraded"}', "application/json", "degraded"),  # the API's own
        (200, b'{"status": "ok"}', "application/json", "ok"),
    ],
)  # fmt: skip
def test_health_reads_the_apis_answer_and_anything_else_as_down(
    server: ThreadingHTTPServer, status: int, body: bytes, kind: str, want: str
) -> None:
    _Answer.status, _Answer.body, _Answer.kind = status, body, kind
    s = StackSettings(api_port=server.server_address[1])
    assert health(s)["status"] == want
