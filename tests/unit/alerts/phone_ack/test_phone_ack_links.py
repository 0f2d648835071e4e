"""The signed acknowledgement link: what verifies, what is forged, what has expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.phone_ack.links import (
    LINK_PATH,
    LinkExpired,
    LinkForged,
    LinkMaker,
    sign_link,
    verify_link,
)

SECRET = "unit-test-ack-secret-0123456789abcdef"  # noqa: S105
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=24)


def _token(alert_id: int = 42, recipient_id: int = 7, expires: datetime = LATER) -> str:
    return sign_link(SECRET, alert_id, recipient_id, expires).token


def test_a_signed_link_names_its_alert_recipient_and_expiry() -> None:
    link = verify_link(SECRET, _token(), NOW)
    assert (link.alert_id, link.recipient_id, link.expires_at) == (42, 7, LATER)


def _flip(token: str, index: int) -> str:
    ch = token[index]
    return token[:index] + ("b" if ch == "a" else "a") + token[index + 1 :]


@pytest.mark.parametrize(
    ("case", "token", "secret", "now", "error"),
    [
        ("another secret", _token(), "another-secret", NOW, LinkForged),
        ("another alert", _token(43, 7).replace("2b.", "2a.", 1), SECRET, NOW, LinkForged),
        ("MAC changed", _flip(_token(), -1), SECRET, NOW, LinkForged),
        ("expiry pushed", _token().replace(".", ".f", 2).replace(".f", ".", 1), SECRET, NOW,
         LinkForged),
        ("empty", "", SECRET, NOW, LinkForged),
        ("too long", _token() + "x" * 100, SECRET, NOW, LinkForged),
        ("path traversal", "../../etc/passwd", SECRET, NOW, LinkForged),
        ("at its expiry", _token(), SECRET, LATER, LinkExpired),
        ("a day after", _token(), SECRET, LATER + timedelta(days=1), LinkExpired),
        ("expired and forged", _flip(_token(), -1), SECRET, LATER, LinkForged),
    ],
)  # fmt: skip
def test_refused_links(
    case: str, token: str, secret: str, now: datetime, error: type[Exception]
) -> None:
    with pytest.raises(error):
        verify_link(secret, token, now)


def test_a_second_before_expiry_still_works() -> None:
    assert verify_link(SECRET, _token(), LATER - timedelta(seconds=1)).alert_id == 42


def test_each_alert_and_recipient_gets_its_own_mac() -> None:
    macs = {sign_link(SECRET, a, r, LATER).mac for a in (1, 2) for r in (1, 2)}
    assert len(macs) == 4


@given(st.text(max_size=200))
def test_no_input_verifies_or_crashes(token: str) -> None:
    with pytest.raises((LinkForged, LinkExpired)):
        verify_link(SECRET, token, NOW)


@given(st.integers(1, 2**40), st.integers(1, 2**40), st.integers(0, 10**9))
def test_every_signed_link_verifies_before_its_expiry(a: int, r: int, ttl: int) -> None:
    link = sign_link(SECRET, a, r, NOW + timedelta(seconds=ttl + 1))
    assert verify_link(SECRET, link.token, NOW) == link


def test_the_maker_builds_a_short_url_under_the_base() -> None:
    url = LinkMaker(SECRET, "https://citypulse.example.kr/", 3600).url(1042, 3, NOW)
    assert url.startswith("https://citypulse.example.kr" + LINK_PATH)
    token = url.rsplit("/", 1)[1]
    assert verify_link(SECRET, token, NOW + timedelta(minutes=59)).alert_id == 1042
    with pytest.raises(LinkExpired):
        verify_link(SECRET, token, NOW + timedelta(hours=1))
    assert len(url) <= 70 and url.isascii()
