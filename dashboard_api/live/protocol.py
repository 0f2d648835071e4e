"""Messages a /ws/live client may send, and the close code for each way of getting it wrong.

Pure: text in, a parsed message or a ProtocolError carrying the websocket close code.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field

from dashboard_api.live.filters import FilterError, LiveFilter, parse_filter

CLOSE_UNSUPPORTED = 1003  # binary frames: the protocol is JSON text
CLOSE_POLICY = 1008  # malformed JSON, unknown type, invalid filter
CLOSE_TOO_BIG = 1009


class ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]  # close reasons must fit in a control frame


@dataclass(frozen=True)
class Subscribe:
    filter: LiveFilter


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Auth:
    """Sign-in, only as the first message of a connection opened with `auth=1`."""

    token: str = field(repr=False)


ClientMessage = Subscribe | Ping | Auth


def parse_client_message(
    text: str | None,
    data: bytes | None,
    max_bytes: int,
    known_areas: Collection[str],
    known_districts: Collection[str],
) -> ClientMessage:
    if text is None:
        if data is not None and len(data) > max_bytes:
            raise ProtocolError(CLOSE_TOO_BIG, "message too big")
        raise ProtocolError(CLOSE_UNSUPPORTED, "binary messages are not supported")
    if len(text.encode()) > max_bytes:
        raise ProtocolError(CLOSE_TOO_BIG, f"message larger than {max_bytes} bytes")
    try:
        body = json.loads(text)
    except ValueError:
        raise ProtocolError(CLOSE_POLICY, "message is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise ProtocolError(CLOSE_POLICY, "message must be an object with a type")
    kind = body.pop("type")
    if kind == "ping" and not body:
        return Ping()
    if kind == "auth":
        token = body.get("token")
        if set(body) != {"token"} or not isinstance(token, str) or not token:
            raise ProtocolError(CLOSE_POLICY, "auth needs exactly a token")
        return Auth(token)
    if kind == "subscribe":
        try:
            return Subscribe(parse_filter(body, known_areas, known_districts))
        except FilterError as exc:
            raise ProtocolError(CLOSE_POLICY, str(exc)) from None
    raise ProtocolError(CLOSE_POLICY, f"unknown message type: {kind[:30]}")
