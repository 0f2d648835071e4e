"""Password hashes (argon2-cffi) and signed tokens (PyJWT, HS256 with iss/aud/exp).

A token only says who signed in and when; the role, agency and districts are read from
the database on every request (api/deps.py), so disabling a user or changing a role
takes effect at once, not when the token expires.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ISSUER = "citypulse"
AUDIENCE = "citypulse-dashboard"
ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 4096
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters


class TokenError(ValueError):
    """A token that is malformed, badly signed, expired, or not meant for us."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    # Hashes written before argon2 (scrypt$n$r$p$salt$hash): still accepted at sign-in,
    # and replaced by an argon2 hash when they are (needs_rehash).
    try:
        _scheme, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return stored.startswith("scrypt$") or _HASHER.check_needs_rehash(stored)


# Verified against when the user does not exist, so a sign-in for an unknown name takes
# as long as one with a wrong password (no username probing by timing).
DUMMY_HASH = hash_password("not-a-password")


def password_version(changed_at: datetime) -> int:
    """When the password was last set, in microseconds: a token carries the version it
    was issued under, so a reset ends it even within the second it was issued (`iat`
    has whole seconds only)."""
    return int(changed_at.timestamp() * 1_000_000)


def encode_token(subject: str, secret: str, now: int, ttl_s: int, pwv: int = 0) -> str:
    claims = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl_s,
              "pwv": pwv}  # fmt: skip
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, secret: str) -> dict[str, Any]:
    """The claims of a valid token of ours; TokenError for anything else."""
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed token")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "iss", "aud", "iat", "exp", "pwv"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenError(type(exc).__name__) from None
    if not isinstance(claims.get("sub"), str) or not all(
        isinstance(claims.get(k), int) for k in ("iat", "pwv")
    ):
        raise TokenError("malformed claims")
    return claims


COMMON_PASSWORDS = frozenset(
    {"password1234", "qwerty123456", "123456789012", "citypulse123", "admin1234567"}
)
MIN_PASSWORD, MAX_PASSWORD = 12, 128


def password_problem(password: str, username: str) -> str | None:
    """Why a new password is refused, or None (rules for passwords an admin sets)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
    if username and username.lower() in password.lower():
        return "a password must not contain the username"
    if len(set(password)) < 5:
        return "a password needs at least 5 different characters"
    if password.lower() in COMMON_PASSWORDS:
        return "this password is too common"
    if any(ord(c) < 32 for c in password):
        return "a password has no control characters"
    return None
