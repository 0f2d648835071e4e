"""The websocket's sign-in message: a token in the first frame, never in the URL."""

from __future__ import annotations

import json

import pytest

from dashboard_api.live.protocol import CLOSE_POLICY, Auth, ProtocolError, parse_client_message


def _parse(text: str) -> object:
    return parse_client_message(text, None, 4096, (), ())


def test_auth_carries_the_token_and_does_not_print_it() -> None:
    parsed = _parse(json.dumps({"type": "auth", "token": "a.b.c"}))
    assert parsed == Auth("a.b.c")
    assert "a.b.c" not in repr(parsed)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "auth"},
        {"type": "auth", "token": ""},
        {"type": "auth", "token": 42},
        {"type": "auth", "token": ["a"]},
        {"type": "auth", "token": "a.b.c", "role": "admin"},
    ],
)
def test_malformed_auth_closes_with_policy(body: dict[str, object]) -> None:
    with pytest.raises(ProtocolError) as error:
        _parse(json.dumps(body))
    assert error.value.code == CLOSE_POLICY
