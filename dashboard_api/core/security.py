"""Password hashing (scrypt) and HS256 JSON Web Tokens, from the standard library.

PyJWT is not a dependency; HS256 is a few lines of hmac and base64, and verification
checks the header's algorithm so a token cannot downgrade itself to "none".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_HEADER = {"alg": "HS256", "typ": "JWT"}


class TokenError(ValueError):
    """A token that is malformed, badly signed or expired."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


# Verified against when the user does not exist, so a login for an unknown name takes as
# long as one with a wrong password (no username probing by timing).
DUMMY_HASH = hash_password("not-a-password", salt=b"\0" * 16)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: dict[str, Any], secret: str) -> str:
    head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def decode_jwt(token: str, secret: str, now: float) -> dict[str, Any]:
    """Claims of a valid token; TokenError for anything else (signature, alg, expiry)."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 4096:
        raise TokenError("malformed token")
    head, body, sig = parts
    expected = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(sig), expected):
            raise TokenError("bad signature")
        header = json.loads(_unb64(head))
        claims = json.loads(_unb64(body))
    except (ValueError, TypeError) as exc:
        raise TokenError("malformed token") from exc
    if header != _HEADER or not isinstance(claims, dict):
        raise TokenError("unsupported token")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= now:
        raise TokenError("token expired")
    return claims
