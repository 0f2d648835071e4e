"""Which incoming texts acknowledge, and the key of Kannel's incoming-SMS URL."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.phone_ack.replies import is_acknowledgement, mo_key_matches, mo_route_key


@pytest.mark.parametrize(
    ("text", "acknowledges"),
    [
        ("1", True),
        (" 1 ", True),
        ("1\n", True),
        ("１", True),  # full-width, as Korean keyboards type it
        ("\u3000１\u3000", True),  # ideographic spaces
        ("1.", True),
        ("확인", True),
        (" 확인 ", True),
        ("확인.", True),
        ("ᄒ", False),
        ("", False),
        ("2", False),
        ("11", False),
        ("10", False),
        ("1 2", False),
        ("확인안함", False),
        ("미확인", False),
        ("one", False),
        ("١", False),  # Arabic-Indic one: NFKC keeps it, not our "1"
        ("1" + "\u0000", False),
        ("1" * 10_000, False),
        (" " * 40 + "1", False),  # longer than any acknowledgement is not read
    ],
)
def test_acknowledging_texts(text: str, acknowledges: bool) -> None:
    assert is_acknowledgement(text) is acknowledges


@given(st.text(max_size=100))
def test_any_text_gives_an_answer_and_only_short_ones_acknowledge(text: str) -> None:
    if is_acknowledgement(text):
        assert len(text) <= 32
        # As typed or in a compatibility form NFKC folds ("１", "¹", jamo): never other words.
        folded = unicodedata.normalize("NFKC", text)
        assert "1" in folded or "확인" in folded


def test_the_route_key_belongs_to_its_secret() -> None:
    key = mo_route_key("secret-a")
    assert mo_key_matches("secret-a", key)
    assert not mo_key_matches("secret-b", key)
    assert not mo_key_matches("secret-a", "")
    assert len(key) == 32 and key.isalnum()
