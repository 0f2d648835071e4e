"""Who gets texted: tiers, groups, subscriptions, language, phone numbers, rate limits.

Pure: the directory is loaded by the caller; the rate limiter keeps a bounded deque of
send times per recipient and takes `now`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal

from citypulse.domain.agencies import AGENCIES, Agency
from citypulse.domain.korea_time import KST
from citypulse.domain.phones import mask_phone
from citypulse.domain.stages import Stage

Language = Literal["ko", "en"]
# crowd: control rooms texted about crowds by tier; technical: the on-call group that
# hears about feeds and the system (alerts.rules.TECHNICAL_RULES), and nothing else.
Role = Literal["crowd", "technical"]

# After stripping separators: 010 + 8 digits, or +82 / 82 with the trunk 0 dropped (or,
# as people often write it, kept: +82 010-...).
_MOBILE = re.compile(r"^(?:\+?82)?0?(10)(\d{4})(\d{4})$")
_SEPARATORS = re.compile(r"[\s\-.()]")


class PhoneNumberError(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """A Korean mobile number (010-XXXX-XXXX, +82 10-XXXX-XXXX, ...) in E.164."""
    compact = _SEPARATORS.sub("", raw.strip())
    if compact.startswith("+") and not compact.startswith("+82"):
        raise PhoneNumberError(f"not a Korean number: {mask_phone(raw)}")
    m = _MOBILE.match(compact)
    if m is None or not (compact.startswith(("010", "+82", "82"))):
        raise PhoneNumberError(f"not a Korean mobile number (010-XXXX-XXXX): {mask_phone(raw)}")
    prefix, middle, last = m.groups()
    return f"+82{prefix}{middle}{last}"


@dataclass(frozen=True)
class Recipient:
    recipient_id: str
    name: str
    phone: str  # stored in E.164; any accepted form is normalised on creation
    tier: int = 1
    language: Language = "ko"
    groups: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()  # subscriptions; both empty: the whole city
    area_codes: frozenset[str] = frozenset()
    active: bool = True
    role: Role = "crowd"
    agency: Agency = "city"
    # Local (KST) quiet hours, from → until (may wrap midnight); None: none. Only messages
    # below 심각 respect them.
    quiet_hours: tuple[time, time] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "phone", normalize_phone(self.phone))
        if self.tier not in (1, 2, 3):
            raise ValueError(f"tier must be 1, 2 or 3, not {self.tier}")
        if self.role not in ("crowd", "technical"):
            raise ValueError(f"role must be crowd or technical, not {self.role!r}")
        if self.agency not in AGENCIES:
            raise ValueError(f"agency must be one of {AGENCIES}, not {self.agency!r}")

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def subscribed(self, district: str, area_code: str) -> bool:
        if not self.districts and not self.area_codes:
            return True
        return district in self.districts or area_code in self.area_codes

    def __repr__(self) -> str:  # never print a full number by accident
        return f"Recipient({self.recipient_id!r}, tier={self.tier}, phone={self.masked_phone})"


def in_quiet_hours(recipient: Recipient, now: datetime) -> bool:
    """Whether `now` (aware) falls in the recipient's quiet hours, read in KST.

    The window is [from, until): from 22:00 until 07:00 wraps midnight and holds 23:30
    and 06:59 but not 07:00. from == until is an empty window (the API refuses it).
    """
    if recipient.quiet_hours is None:
        return False
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("in_quiet_hours needs an aware datetime")
    start, until = (t.replace(tzinfo=None) for t in recipient.quiet_hours)
    local = now.astimezone(KST).time().replace(tzinfo=None)
    if start <= until:
        return start <= local < until
    return local >= start or local < until


@dataclass(frozen=True)
class RecipientDirectory:
    recipients: tuple[Recipient, ...]

    def __post_init__(self) -> None:
        ids = [r.recipient_id for r in self.recipients]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate recipient_id in directory")

    def select(
        self,
        tiers: Iterable[int],
        district: str,
        area_code: str,
        extra_groups: Iterable[str] = (),
    ) -> tuple[Recipient, ...]:
        """Active crowd recipients of these tiers subscribed to the area, plus extra groups
        (event-day staff), one per phone number, ordered by tier then id."""
        wanted_tiers, groups = set(tiers), set(extra_groups)
        chosen: dict[str, Recipient] = {}
        for r in sorted(self.recipients, key=lambda r: (r.tier, r.recipient_id)):
            if not r.active or r.role != "crowd" or r.phone in chosen:
                continue
            by_tier = r.tier in wanted_tiers and r.subscribed(district, area_code)
            if by_tier or (r.groups & groups):
                chosen[r.phone] = r
        return tuple(chosen.values())

    def on_call(self, tiers: Iterable[int]) -> tuple[Recipient, ...]:
        """Active technical recipients of these tiers, whatever their subscriptions (a
        feed serves the whole city), one per phone number, ordered by tier then id."""
        wanted = set(tiers)
        chosen: dict[str, Recipient] = {}
        for r in sorted(self.recipients, key=lambda r: (r.tier, r.recipient_id)):
            if r.active and r.role == "technical" and r.tier in wanted:
                chosen.setdefault(r.phone, r)
        return tuple(chosen.values())

    def in_group(self, group: str) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if r.active and group in r.groups)


@dataclass
class MessageRateLimiter:
    """At most `max_messages` per budget (a recipient, or a recipient's technical budget)
    per `window_s`. Over the limit a message still goes if it is 심각, or of a higher
    stage than the last one the budget sent (경계 after 주의: the news got worse). Every
    message counts, so a 심각 storm delays the lesser messages after it."""

    max_messages: int = 10
    window_s: float = 3600.0
    always_min_severity: Stage = Stage.SERIOUS
    _sent: dict[str, deque[datetime]] = field(default_factory=dict, init=False, repr=False)
    _last: dict[str, Stage] = field(default_factory=dict, init=False, repr=False)

    def admit(self, budget: str, severity: Stage, now: datetime) -> bool:
        sent = self._sent.setdefault(budget, deque(maxlen=self.max_messages))
        while sent and (now - sent[0]).total_seconds() >= self.window_s:
            sent.popleft()
        worse = severity > self._last.get(budget, Stage.NORMAL)
        if len(sent) >= self.max_messages and severity < self.always_min_severity and not worse:
            return False
        self.count(budget, severity, now)
        return True

    def count(self, budget: str, severity: Stage, at: datetime) -> None:
        """Record a message that went out (also: re-count the outbox after a restart)."""
        sent = self._sent.setdefault(budget, deque(maxlen=self.max_messages))
        sent.append(at)  # maxlen drops the oldest: memory stays bounded
        self._last[budget] = severity
