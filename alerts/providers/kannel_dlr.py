"""Kannel delivery reports: the dlr-url we hand Kannel and the parser for its callback.

Kannel calls the dlr-url once per status change, filling in its escape codes:
%d the DLR type (bit mask: 1 delivered, 2 failed, 4 queued, 8 at SMSC, 16 SMSC reject),
%A the SMSC's own words (an SMPP receipt text, or "ACK/", "NACK/..."), %F the SMSC's
message id, %i the smsc-id, %T the unix time. Pure: `now` is passed in.

Anyone who can reach the callback could otherwise silence an alert with a forged report
(outbox ids are sequential), so each dlr-url carries `sig`, an HMAC of the message id
under a secret only the dispatcher and the API know; a report without the right `sig`
for its own message_id is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from alerts.providers.base import DeliveryReport, DeliveryStatus
from alerts.providers.smpp_receipt import STAT_TO_STATUS, parse_receipt_text

DLR_DELIVERED = 1
DLR_FAILED = 2
DLR_QUEUED = 4
DLR_AT_SMSC = 8
DLR_SMSC_REJECT = 16
DLR_MASK_ALL = 31
SIG_PARAM = "sig"
_SIG_HEX_CHARS = 32  # 128 bits of HMAC-SHA256: no forging by guessing

# message_id travels inside a URL Kannel rewrites: '%' would read as an escape code.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_REPLY_CHARS = 512  # an SMPP receipt text is about 160; the rest is kept out of the audit

DLR_QUERY = "type=%d&reply=%A&foreign_id=%F&smsc=%i&ts=%T"


class DlrParseError(ValueError):
    """A callback that is not a usable Kannel DLR (answer it with HTTP 400)."""


class DlrSignatureError(ValueError):
    """A callback whose `sig` is missing or not the one we gave out (answer HTTP 403)."""


# A drill's dispatcher (citypulse/cli/drill.py) adds `drill=<id>` to its dlr-url and signs
# with the drill's own secret, derived from the live one: the API can check it and record
# the report in the drill's outbox, and a drill's signature never passes for a live message
# (outbox ids of a drill and the live city overlap).
DRILL_PARAM = "drill"
_DRILL_ID = re.compile(r"^[a-z0-9]{1,16}$")  # citypulse/cli/drill.py's ids


def drill_dlr_secret(secret: str, drill_id: str) -> str:
    """The secret that signs drill `drill_id`'s dlr-urls: an HMAC of its id under the
    live secret (the API, knowing the live one, checks a drill's reports without a list)."""
    if not _DRILL_ID.match(drill_id):
        raise ValueError(f"drill id {drill_id!r} must match {_DRILL_ID.pattern}")
    return hmac.new(secret.encode(), f"drill-dlr:{drill_id}".encode(), hashlib.sha256).hexdigest()


def drill_of(params: Mapping[str, str]) -> str | None:
    """The drill a report is for (None: the live city); DlrParseError if malformed."""
    drill_id = params.get(DRILL_PARAM)
    if drill_id is None:
        return None
    if not _DRILL_ID.match(drill_id):
        raise DlrParseError("malformed drill id")
    return drill_id


def dlr_signature(secret: str, message_id: str) -> str:
    """Hex HMAC-SHA256 of the message id: URL-safe, and free of the '%' Kannel rewrites."""
    mac = hmac.new(secret.encode(), f"kannel-dlr:{message_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:_SIG_HEX_CHARS]


def verify_dlr_signature(secret: str, message_id: str, signature: str) -> None:
    """Raise DlrSignatureError unless `signature` is the one made for `message_id`."""
    expected = dlr_signature(secret, message_id)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise DlrSignatureError("missing or wrong signature")


def dlr_callback_url(base_url: str, message_id: str, secret: str) -> str:
    """The dlr-url for one message: our callback, its signature and Kannel's escape codes."""
    if not _SAFE_ID.match(message_id):
        raise ValueError(f"message_id {message_id!r} must match {_SAFE_ID.pattern}")
    separator = "&" if urlsplit(base_url).query else "?"
    sig = dlr_signature(secret, message_id)
    return f"{base_url}{separator}message_id={message_id}&{SIG_PARAM}={sig}&{DLR_QUERY}"


def status_for_type(dlr_type: int) -> DeliveryStatus:
    """Most telling bit first: a final outcome beats an intermediate one."""
    if dlr_type & DLR_DELIVERED:
        return "delivered"
    if dlr_type & DLR_SMSC_REJECT:
        return "rejected"
    if dlr_type & DLR_FAILED:
        return "failed"
    if dlr_type & DLR_AT_SMSC:
        return "at_smsc"
    if dlr_type & DLR_QUEUED:
        return "queued"
    return "unknown"


def parse_kannel_dlr(params: Mapping[str, str], now: datetime, secret: str) -> DeliveryReport:
    """The report a signed callback carries; DlrSignatureError before anything else is
    read when `sig` does not belong to `message_id`, DlrParseError for the rest."""
    message_id = params.get("message_id", "")
    if not _SAFE_ID.match(message_id):
        raise DlrParseError("missing or malformed message_id")
    verify_dlr_signature(secret, message_id, params.get(SIG_PARAM, ""))
    raw_type = params.get("type", "")
    # Kannel's types are bits of DLR_MASK_ALL; anything else did not come from Kannel.
    if not (len(raw_type) <= 2 and raw_type.isascii() and raw_type.isdigit()) or not (
        0 < int(raw_type) <= DLR_MASK_ALL
    ):
        raise DlrParseError(f"DLR type must be 1-{DLR_MASK_ALL}: {raw_type[:20]!r}")
    dlr_type = int(raw_type)
    # The receipt text quotes the message's start: an LMS's "[subject]\n", or any control
    # character (NUL, which PostgreSQL's text refuses); kept as spaces.
    reply = _CONTROL.sub(" ", params.get("reply", "")[:MAX_REPLY_CHARS])
    status = status_for_type(dlr_type)
    error_code = None
    receipt = parse_receipt_text(reply)
    if receipt is not None:
        # Kannel folds EXPIRED, REJECTD, UNDELIV into "failed"; the receipt says which.
        by_stat = STAT_TO_STATUS.get(receipt.stat, status)
        if status == "failed" and by_stat in ("expired", "rejected"):
            status = by_stat
        if receipt.err.strip("0"):
            error_code = receipt.err
    return DeliveryReport(
        message_id=message_id,
        status=status,
        provider_status=f"type={dlr_type} {reply}".strip(),
        at=now,
        provider_message_id=_CONTROL.sub(" ", params.get("foreign_id", "")) or None,
        error_code=error_code,
    )
