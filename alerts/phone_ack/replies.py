"""Which reply texts acknowledge: "1" or "확인", alone, give or take spaces, full-width
digits and a final period. Pure. Anything else is not an acknowledgement (and gets no
answer: the gateway replies to nothing)."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

MAX_REPLY_CHARS = 32  # an acknowledgement is one word; longer texts are not read
_ACK_WORDS = frozenset({"1", "확인"})
_TRAILING = ".!。"


def is_acknowledgement(text: str) -> bool:
    if len(text) > MAX_REPLY_CHARS:
        return False
    # NFKC: full-width "１", compatibility Hangul jamo and odd spaces read as typed.
    word = unicodedata.normalize("NFKC", text).strip().rstrip(_TRAILING).strip()
    return word in _ACK_WORDS


def mo_route_key(secret: str) -> str:
    """The key in the URL Kannel calls with incoming messages (kannel.conf's get-url):
    derived from the acknowledgement secret, so the gateway and the API share one."""
    return hmac.new(secret.encode(), b"kannel-mo-route", hashlib.sha256).hexdigest()[:32]


def mo_key_matches(secret: str, key: str) -> bool:
    return hmac.compare_digest(key.encode(), mo_route_key(secret).encode())
