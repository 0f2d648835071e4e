"""Tokens, passwords, sign-in backoff, client addresses, districts: the pure parts."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from dashboard_api.core.addresses import client_address, parse_networks
from dashboard_api.core.security import (
    AUDIENCE,
    ISSUER,
    TokenError,
    decode_token,
    encode_token,
    hash_password,
    needs_rehash,
    password_problem,
    password_version,
    verify_password,
)
from dashboard_api.core.throttle import AddressThrottle, SignInPolicy
from dashboard_api.schemas.auth import AccountCreate, UserPublic

SECRET = "s" * 32


def test_a_token_round_trips_with_issuer_audience_and_expiry() -> None:
    now = int(time.time())
    claims = decode_token(encode_token("kim.op", SECRET, now, 60), SECRET)
    assert (claims["sub"], claims["iss"], claims["aud"], claims["exp"]) == (
        "kim.op", ISSUER, AUDIENCE, now + 60,
    )  # fmt: skip


def test_the_forge_itself_makes_a_valid_token() -> None:
    assert decode_token(_forge(), SECRET)["pwv"] == 0  # so each case below fails for its reason


def test_password_versions_differ_within_one_second() -> None:
    """A reset a few ms after a sign-in must end that token: `iat` has whole seconds."""
    t = datetime(2026, 12, 2, 9, 0, 0, 100_000, tzinfo=UTC)
    assert password_version(t) != password_version(t + timedelta(milliseconds=5))
    token = encode_token("kim.op", SECRET, int(time.time()), 60, password_version(t))
    assert decode_token(token, SECRET)["pwv"] == password_version(t)


def _forge(**changes: object) -> str:
    now = int(time.time())
    claims = {"sub": "kim.op", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60,
              "pwv": 0}  # fmt: skip
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, "HS256")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (_forge(exp=int(time.time()) - 1), "expired"),
        (_forge(iss="someone-else"), "another issuer"),
        (_forge(aud="another-app"), "another audience"),
        (_forge(exp=None), "no expiry"),
        (_forge(iat=None), "no issue time"),
        (_forge(sub=None), "no subject"),
        (_forge(pwv=None), "no password version"),
        (_forge(pwv="1"), "a password version that is not a number"),
        (jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}, "t" * 32, "HS256"), "secret"),
        (jwt.encode({"sub": "admin", "iss": ISSUER, "aud": AUDIENCE}, None, "none"), "alg none"),
        ("a.b.c", "garbage"),
        ("x" * 5000, "too long"),
    ],
)
def test_every_bad_token_is_refused(token: str, why: str) -> None:
    with pytest.raises(TokenError):
        decode_token(token, SECRET)


def test_passwords_hash_with_argon2_and_old_scrypt_hashes_still_verify() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and stored != hash_password("correct horse battery")
    assert verify_password("correct horse battery", stored) and not needs_rehash(stored)
    assert not verify_password("wrong", stored)
    salt = b"\1" * 16
    digest = hashlib.scrypt(b"old one", salt=salt, n=2**14, r=8, p=1).hex()
    legacy = f"scrypt$16384$8$1${salt.hex()}${digest}"
    assert verify_password("old one", legacy) and needs_rehash(legacy)
    assert not verify_password("old two", legacy)
    for broken in ("scrypt$broken", "bcrypt$whatever", "", "$argon2id$nonsense"):
        assert not verify_password("x", broken)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("kettle-orbit-7-lantern", True),
        ("short", False),
        ("x" * 129, False),
        ("kim.op-password-1", False),  # contains the username
        ("aaaaaaaaaaaaaaaa", False),
        ("password1234", False),
        ("tab\tinside-password", False),
    ],
)
def test_password_rules(password: str, ok: bool) -> None:
    assert (password_problem(password, "kim.op") is None) is ok


@pytest.mark.parametrize(
    ("failures", "wait"),
    [(0, 0), (1, 0), (3, 0), (4, 1), (5, 2), (6, 4), (8, 16), (9, 900), (50, 900)],
)
def test_sign_in_backs_off_then_locks(failures: int, wait: float) -> None:
    policy = SignInPolicy()
    assert policy.wait_after(failures) == wait
    assert policy.locked(failures) is (failures >= 9)


def test_backoff_is_capped_and_can_be_turned_off() -> None:
    assert SignInPolicy(lock_after=100, backoff_cap_s=60).wait_after(40) == 60
    assert SignInPolicy(backoff_base_s=0).wait_after(8) == 0
    assert SignInPolicy(backoff_base_s=0).wait_after(9) == 900


def test_address_throttle_counts_per_address_and_forgets_on_success() -> None:
    throttle = AddressThrottle(SignInPolicy(free_failures=1, backoff_base_s=10), max_clients=2)
    throttle.failed("a", now=0)
    assert throttle.retry_after("a", 0) == 0
    throttle.failed("a", now=0)
    assert throttle.retry_after("a", 4) == 6 and throttle.retry_after("b", 4) == 0
    throttle.succeeded("a")
    assert throttle.retry_after("a", 4) == 0
    for n in range(5):
        throttle.failed(f"c{n}", now=0)
    assert len(throttle._seen) == 2


PROXY = parse_networks(["10.0.0.1", "192.168.0.0/16"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "10.9.8.7", "127.0.0.1"),  # not a proxy: the header is ignored
        ("203.0.113.5", None, "203.0.113.5"),
        ("10.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client's own is left
        ("10.0.0.1", "198.51.100.7, 192.168.3.3", "198.51.100.7"),  # two proxies deep
        ("10.0.0.1", "not-an-address", "10.0.0.1"),
        ("10.0.0.1", "192.168.1.1", "10.0.0.1"),  # only proxies: the nearest peer
        (None, "1.2.3.4", "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: str | None, client: str) -> None:
    assert client_address(peer, forwarded, PROXY) == client


@given(peer=st.text(max_size=40), forwarded=st.text(max_size=300))
def test_client_address_never_raises_nor_takes_a_header_from_a_stranger(
    peer: str, forwarded: str
) -> None:
    address = client_address(peer, forwarded, PROXY)
    if peer not in ("10.0.0.1",) and not peer.startswith("192.168."):
        assert address == (peer or "unknown")


JONGNO = UserPublic(username="d", role="operator", agency="district", districts=["종로구"])


@pytest.mark.parametrize(
    ("user", "district", "may"),
    [
        (UserPublic(username="a", role="admin", districts=["중구"]), "종로구", True),
        (UserPublic(username="c", role="operator", agency="fire"), "종로구", True),
        (UserPublic(username="c", role="operator", agency="fire"), None, True),
        (JONGNO, "종로구", True),
        (JONGNO, "중구", False),
        (JONGNO, None, False),
    ],
)  # fmt: skip
def test_who_may_act_where(user: UserPublic, district: str | None, may: bool) -> None:
    assert user.may_act_in(district) is may


@given(
    username=st.text(max_size=50),
    districts=st.lists(st.text(max_size=25), max_size=30),
    display_name=st.text(max_size=100),
)
def test_account_bodies_are_valid_or_refused_never_raise_otherwise(
    username: str, districts: list[str], display_name: str
) -> None:
    try:
        account = AccountCreate(
            username=username,
            password="p",  # noqa: S106
            role="operator",
            agency="district",
            districts=districts,
            display_name=display_name,
        )
    except ValidationError:
        return
    assert account.districts == sorted(set(account.districts))
    assert not any(ord(c) < 32 for d in account.districts for c in d)
