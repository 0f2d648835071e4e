"""Log output of every process: text as before, or one JSON object per line
(CITYPULSE_LOG_FORMAT=json) for a log shipper, carrying the request id of the API call
that logged it."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Set by the API's request middleware for the duration of one request.
request_id: ContextVar[str | None] = ContextVar("citypulse_request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the
    request id when there is one, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: LogFormat = "text", level: int = logging.INFO) -> None:
    """One handler on the root logger in the chosen format. Text leaves a root logger
    that already has handlers alone, as `logging.basicConfig` does; json replaces them,
    and uvicorn's loggers hand their records to it too, so a process writes one format."""
    root = logging.getLogger()
    if fmt == "text" and root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if fmt == "json":
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            named = logging.getLogger(name)
            named.handlers.clear()
            named.propagate = True


def worker_logging_config(fmt: LogFormat) -> dict[str, object] | None:
    """For Faust's worker, which sets up logging itself (`faust.App(logging_config=...)`):
    its default console handler with the JSON formatter; None keeps Faust's text."""
    if fmt != "json":
        return None
    return {
        "merge": True,  # mode merges this into its own configuration
        "formatters": {"json": {"()": "citypulse.logs.JsonFormatter"}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "json"}},
    }
