"""Keeps credentials out of the API's log lines.

Uvicorn logs every request's path with its query string (HTTP on `uvicorn.access`,
websockets on `uvicorn.error`). No credential belongs in a URL here (the websocket signs
in by its first message; Kannel's per-message `sig` must not be replayable from a log),
but a stale page or a hand-made URL may still send one, so any query string that names a
token, ticket, signature or password is cut from the line before it is written.
"""

from __future__ import annotations

import logging
import re

_SECRET_QUERY = re.compile(r"\?[^\s\"']*?(?:token|ticket|sig|password|secret)[^\s\"']*", re.I)
REDACTED = "?[redacted]"
# An acknowledgement link is a credential in the path (dashboard_api/api/phone_ack.py).
_ACK_LINK = re.compile(r"/a/[^\s\"'?]+")
# The identity provider's answer: an authorization code and state (api/routes/oidc.py).
_OIDC_CALLBACK = re.compile(r"(/auth/oidc/callback)\?[^\s\"']*")
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    """`text` with every query string that names a credential replaced by REDACTED."""
    text = _OIDC_CALLBACK.sub(rf"\1{REDACTED}", text)
    return _ACK_LINK.sub("/a/[redacted]", _SECRET_QUERY.sub(REDACTED, text))


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            args = record.args.items()
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in args}
        return True


def install() -> None:
    """Idempotent: one filter on each uvicorn logger that writes request paths."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
            logger.addFilter(RedactQueryStrings())
