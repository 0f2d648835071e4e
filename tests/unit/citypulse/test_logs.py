"""JSON log lines: one object per record, with the request id inside a request only."""

from __future__ import annotations

import json
import logging
import logging.config
import sys

from citypulse.logs import JsonFormatter, request_id, worker_logging_config


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


def test_the_worker_gets_json_through_fausts_logging_config_and_text_stays_faust_s() -> None:
    assert worker_logging_config("text") is None
    config = worker_logging_config("json")
    assert config is not None and config["merge"] is True  # onto mode's own configuration
    root = logging.getLogger()
    kept, level = list(root.handlers), root.level
    as_mode_applies_it = {k: v for k, v in config.items() if k != "merge"}
    as_mode_applies_it.update(
        version=1, disable_existing_loggers=False, root={"handlers": ["default"], "level": "INFO"}
    )
    try:
        logging.config.dictConfig(as_mode_applies_it)
        assert [type(h.formatter) for h in root.handlers] == [JsonFormatter]
    finally:
        root.handlers[:] = kept
        root.setLevel(level)
