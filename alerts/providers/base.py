"""The SMS provider edge: one small async interface and the values that cross it.

The outbox dispatcher only knows `SmsProvider.send` and the `DeliveryReport`s a
provider hands to its `ReportSink`; which gateway sits behind them (a log, Kannel,
an SMPP link) is configuration.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from citypulse.domain.phones import mask_phone

SmsKind = Literal["sms", "lms"]
DeliveryStatus = Literal[
    "delivered", "failed", "queued", "at_smsc", "rejected", "expired", "unknown"
]
FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset(
    {"delivered", "failed", "rejected", "expired"}
)

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def is_e164(number: str) -> bool:
    return bool(_E164.match(number))


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    message_id: str  # our outbox id; it comes back in every DeliveryReport
    to: str  # E.164, e.g. "+821012345678"
    text: str
    kind: SmsKind = "sms"
    subject: str | None = None  # LMS only; gateways without subjects get it as a first line

    def __post_init__(self) -> None:
        if not is_e164(self.to):
            raise ValueError(f"recipient is not an E.164 number: {mask_phone(self.to)!r}")
        if not self.message_id:
            raise ValueError("message_id must not be empty")
        if not self.text:
            raise ValueError("text must not be empty")

    def body(self) -> str:
        """Text as sent by gateways that have no subject field."""
        if self.kind == "lms" and self.subject:
            return f"[{self.subject}]\n{self.text}"
        return self.text


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What the gateway said to the submit. Accepted is not delivered: see DeliveryReport."""

    accepted: bool
    provider_message_id: str | None = None
    retryable: bool = False  # only meaningful when not accepted
    error: str | None = None
    # The submit may have reached the gateway (no answer): resending now could send twice.
    uncertain: bool = False

    @classmethod
    def ok(cls, provider_message_id: str | None = None) -> SubmitResult:
        return cls(accepted=True, provider_message_id=provider_message_id)

    @classmethod
    def retry(cls, error: str) -> SubmitResult:
        return cls(accepted=False, retryable=True, error=error)

    @classmethod
    def unanswered(cls, error: str) -> SubmitResult:
        return cls(accepted=False, retryable=True, error=error, uncertain=True)

    @classmethod
    def final(cls, error: str) -> SubmitResult:
        return cls(accepted=False, retryable=False, error=error)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    # None when a receipt names a provider id this process did not submit (e.g. after a
    # restart): the dispatcher then looks the message up by provider_message_id.
    message_id: str | None
    status: DeliveryStatus
    provider_status: str  # the gateway's own words, kept for the audit trail
    at: datetime  # when we received the report
    provider_message_id: str | None = None
    error_code: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


ReportSink = Callable[[DeliveryReport], Awaitable[None]]


@runtime_checkable
class SmsProvider(Protocol):
    name: str

    async def send(self, message: OutgoingSms) -> SubmitResult:
        """Submit one message. Never raises for gateway trouble: returns a SubmitResult."""
        ...

    async def reachable(self) -> bool:
        """Whether the gateway answers now (sends nothing). The dispatcher asks when it
        has nothing to send but must know the gateway is back (see its uncertain rows)."""
        ...

    async def aclose(self) -> None: ...
