"""The recipient bodies admins send: numbers normalised or refused (masked), quiet hours
as a pair of local times, technical recipients without them, partial updates."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from pydantic import ValidationError

from dashboard_api.schemas.recipients import RecipientCreate, RecipientUpdate

BASE = {"name": "중구 관제", "phone": "010-1234-5678"}


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("010-1234-5678", "+821012345678"),
        ("+82 10 1234 5678", "+821012345678"),
        ("82-010-1234-5678", "+821012345678"),
        (" 01098765432 ", "+821098765432"),
    ],
)
def test_numbers_are_stored_in_e164(phone: str, e164: str) -> None:
    assert RecipientCreate.model_validate({**BASE, "phone": phone}).phone == e164


@pytest.mark.parametrize(
    "phone", ["02-1234-5678", "011-234-5678", "+1 415 555 0100", "010-1234-567", "", "x" * 41]
)
def test_a_bad_number_is_refused_without_repeating_it(phone: str) -> None:
    with pytest.raises(ValidationError) as err:
        RecipientCreate.model_validate({**BASE, "phone": phone})
    message = str(err.value.errors(include_input=False))
    digits = "".join(c for c in phone if c.isdigit())
    assert len(digits) < 4 or digits[:-2] not in "".join(c for c in message if c.isdigit())


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"tier": 0}, "greater than or equal to 1"),
        ({"tier": 4}, "less than or equal to 3"),
        ({"language": "ja"}, "'ko' or 'en'"),
        ({"role": "ops"}, "'crowd' or 'technical'"),
        ({"agency": "army"}, "'city'"),
        ({"name": ""}, "at least 1 character"),
        ({"name": "a\x00b"}, "pattern"),
        ({"groups": ["x" * 41]}, "at most 40"),
        ({"areas": ["Itaewon"]}, "pattern"),
        ({"quiet_from": "22:00"}, "go together"),
        ({"quiet_until": "07:00"}, "go together"),
        ({"quiet_from": "07:00", "quiet_until": "07:00"}, "must differ"),
        ({"quiet_from": "22:00Z", "quiet_until": "07:00"}, "without an offset"),
        ({"quiet_from": "25:00", "quiet_until": "07:00"}, "time"),
        ({"role": "technical", "quiet_from": "22:00", "quiet_until": "07:00"}, "technical"),
        ({"active": False}, "Extra inputs"),
    ],
)
def test_create_refuses(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        RecipientCreate.model_validate({**BASE, **fields})


def test_create_defaults_and_tidies_lists() -> None:
    body = RecipientCreate.model_validate(
        {**BASE, "groups": ["b", "a", "b"], "quiet_from": "22:00", "quiet_until": "07:00"}
    )
    assert (body.tier, body.language, body.role, body.agency) == (1, "ko", "crowd", "city")
    assert body.groups == ["a", "b"]
    assert (body.quiet_from, body.quiet_until) == (time(22), time(7))  # wraps midnight


@pytest.mark.parametrize(
    ("fields", "sent"),
    [
        ({}, set()),
        ({"tier": 2}, {"tier"}),
        ({"quiet_from": None, "quiet_until": None}, {"quiet_from", "quiet_until"}),  # cleared
        ({"quiet_from": "12:00", "quiet_until": "13:00"}, {"quiet_from", "quiet_until"}),
        ({"phone": "010-1111-2222"}, {"phone"}),
    ],
)
def test_an_update_changes_only_what_is_sent(fields: dict[str, Any], sent: set[str]) -> None:
    assert RecipientUpdate.model_validate(fields).model_fields_set == sent


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"tier": None}, "may be null"),
        ({"name": None}, "may be null"),
        ({"quiet_from": "22:00"}, "go together"),
        ({"quiet_from": None}, "go together"),
        ({"quiet_from": "22:00", "quiet_until": None}, "go together"),
        ({"phone": "02-123-4567"}, "Korean mobile"),
        ({"role": "technical", "quiet_from": "1:00", "quiet_until": "2:00"}, "time|technical"),
    ],
)
def test_update_refuses(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        RecipientUpdate.model_validate(fields)
