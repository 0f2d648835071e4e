"""JSON log lines: one object per record, with the request id inside a request only."""

from __future__ import annotations

import json
import logging
import sys

from citypulse.logs import JsonFormatter, request_id


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("bad reading")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("citypulse.x", logging.WARNING, __file__, 1, msg, args, info)


def test_json_log_lines_carry_the_request_id_only_inside_a_request() -> None:
    token = request_id.set("req-42")
    try:
        inside = json.loads(JsonFormatter().format(_record("slow %s", "db")))
    finally:
        request_id.reset(token)
    outside = json.loads(JsonFormatter().format(_record("slow %s", "db")))
    assert inside["request_id"] == "req-42" and inside["message"] == "slow db"
    assert inside["level"] == "WARNING" and inside["logger"] == "citypulse.x"
    assert inside["time"].endswith("+00:00")
    assert "request_id" not in outside


def test_json_log_lines_keep_korean_text_and_the_traceback_on_one_line() -> None:
    line = JsonFormatter().format(_record("경계 %s", "이태원", exc=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "경계 이태원"
    assert "ValueError: bad reading" in entry["exception"]
