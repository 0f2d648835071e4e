"""The signed acknowledgement link: `<base>/a/<token>`. Pure; `now` is passed in.

The token names the alert and the recipient it was texted to and when it stops working,
and carries an HMAC of those under a secret only the worker and the API know, so a link
cannot be made for another alert or person (alert ids are sequential). Short on purpose:
it travels inside an SMS, where every byte counts. Single use is the API's to enforce
(the MAC is the key of the stored use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

LINK_PATH = "/a/"
_MAC_CHARS = 16  # 96 bits of HMAC-SHA256: not guessable at any rate the API allows
_TOKEN = re.compile(r"^([0-9a-f]{1,12})\.([0-9a-f]{1,12})\.([0-9a-f]{1,10})\.([A-Za-z0-9_-]{16})$")
MAX_TOKEN_CHARS = 60


class LinkForged(ValueError):
    """Not a token we signed (answer 404: say nothing about what exists)."""


class LinkExpired(ValueError):
    """A token we signed whose time is over (answer 410)."""


@dataclass(frozen=True)
class AckLink:
    alert_id: int
    recipient_id: int
    expires_at: datetime
    mac: str  # the key a use is stored under

    @property
    def token(self) -> str:
        return f"{self.alert_id:x}.{self.recipient_id:x}.{_unix(self.expires_at):x}.{self.mac}"


def _unix(t: datetime) -> int:
    return int(t.timestamp())


def _mac(secret: str, alert_id: int, recipient_id: int, expires: int) -> str:
    payload = f"ack-link:{alert_id}:{recipient_id}:{expires}".encode()
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]


def sign_link(secret: str, alert_id: int, recipient_id: int, expires_at: datetime) -> AckLink:
    if alert_id <= 0 or recipient_id <= 0:
        raise ValueError("alert and recipient ids are positive")
    expires = _unix(expires_at)
    at = datetime.fromtimestamp(expires, UTC)
    return AckLink(alert_id, recipient_id, at, _mac(secret, alert_id, recipient_id, expires))


def link_url(base_url: str, link: AckLink) -> str:
    return f"{base_url.rstrip('/')}{LINK_PATH}{link.token}"


def verify_link(secret: str, token: str, now: datetime) -> AckLink:
    """The link a token names; LinkForged unless we signed exactly it, then LinkExpired
    if its time is over (a forgery learns nothing about expiry)."""
    m = _TOKEN.match(token) if len(token) <= MAX_TOKEN_CHARS else None
    if m is None:
        raise LinkForged("not an acknowledgement link")
    alert_id, recipient_id, expires = (int(g, 16) for g in m.groups()[:3])
    expected = _mac(secret, alert_id, recipient_id, expires)
    if not hmac.compare_digest(m[4].encode(), expected.encode()):
        raise LinkForged("not an acknowledgement link")
    link = AckLink(alert_id, recipient_id, datetime.fromtimestamp(expires, UTC), m[4])
    if now >= link.expires_at:
        raise LinkExpired("this link has expired")
    return link


@dataclass(frozen=True)
class LinkMaker:
    """Makes the link each alert SMS carries (settings: CITYPULSE_SMS_ACK_*)."""

    secret: str
    base_url: str
    ttl_s: float

    def url(self, alert_id: int, recipient_id: int, now: datetime) -> str:
        expires = datetime.fromtimestamp(now.timestamp() + self.ttl_s, UTC)
        return link_url(self.base_url, sign_link(self.secret, alert_id, recipient_id, expires))
