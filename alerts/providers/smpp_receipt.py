"""SMSC delivery receipts (SMPP 3.4 Appendix B) -> DeliveryReport. Pure: `now` is passed in.

A receipt arrives as a deliver_sm with the esm_class receipt bit and a short_message like
"id:0123456789 sub:001 dlvrd:001 submit date:2501011200 done date:2501011201
stat:DELIVRD err:000 text:...". The receipted_message_id / message_state TLVs, when an
SMSC sends them, win over the text because they are unambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from alerts.providers.base import DeliveryReport, DeliveryStatus
from alerts.providers.smpp_pdu import ESM_CLASS_DELIVERY_RECEIPT, ShortMessage, TlvTag

STAT_TO_STATUS: dict[str, DeliveryStatus] = {
    "DELIVRD": "delivered",
    "UNDELIV": "failed",
    "DELETED": "failed",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "ACCEPTD": "queued",  # accepted by the SMSC on the subscriber's behalf, not handset
    "ENROUTE": "at_smsc",
    "UNKNOWN": "unknown",
}

# message_state TLV values (spec 5.2.28) named by their receipt stat word
MESSAGE_STATE_TO_STAT = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}

_KEY = re.compile(r"(?i)(?<![a-z])(id|sub|dlvrd|submit date|done date|stat|err|text):")


@dataclass(frozen=True, slots=True)
class Receipt:
    id: str
    stat: str
    err: str = ""
    sub: str = ""
    dlvrd: str = ""
    submit_date: str = ""
    done_date: str = ""
    text: str = ""

    @property
    def status(self) -> DeliveryStatus:
        return STAT_TO_STATUS.get(self.stat.upper(), "unknown")


def parse_receipt_text(text: str) -> Receipt | None:
    """Parse the receipt text; None when it has no id or no stat (not a receipt)."""
    fields: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for i, m in enumerate(matches):
        key = m.group(1).lower().replace(" ", "_")
        if key == "text":
            fields[key] = text[m.end() :].strip()
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        fields.setdefault(key, text[m.end() : end].strip())
    if not fields.get("id") or not fields.get("stat"):
        return None
    return Receipt(
        id=fields["id"],
        stat=fields["stat"].upper(),
        err=fields.get("err", ""),
        sub=fields.get("sub", ""),
        dlvrd=fields.get("dlvrd", ""),
        submit_date=fields.get("submit_date", ""),
        done_date=fields.get("done_date", ""),
        text=fields.get("text", ""),
    )


def format_receipt(receipt: Receipt) -> str:
    """The Appendix B text form (what an SMSC, or our stand-in, puts in short_message)."""
    return (
        f"id:{receipt.id} sub:{receipt.sub or '001'} dlvrd:{receipt.dlvrd or '000'} "
        f"submit date:{receipt.submit_date} done date:{receipt.done_date} "
        f"stat:{receipt.stat} err:{receipt.err or '000'} text:{receipt.text[:20]}"
    )


def is_receipt(sm: ShortMessage) -> bool:
    return bool(sm.esm_class & ESM_CLASS_DELIVERY_RECEIPT)


def report_from_deliver_sm(
    sm: ShortMessage,
    message_id_for: Callable[[str], str | None],
    now: datetime,
) -> DeliveryReport | None:
    """DeliveryReport for a receipt deliver_sm; None if it is an ordinary MO message.

    message_id_for maps the SMSC's message id back to our outbox id (None if unknown).
    """
    if not is_receipt(sm):
        return None
    text = sm.short_message.decode("latin-1")
    parsed = parse_receipt_text(text)
    receipted = sm.tlv(TlvTag.RECEIPTED_MESSAGE_ID)
    state = sm.tlv(TlvTag.MESSAGE_STATE)
    provider_id = receipted.as_cstring() if receipted else (parsed.id if parsed else None)
    if state is not None:
        stat = MESSAGE_STATE_TO_STAT.get(state.as_int(), "UNKNOWN")
    else:
        stat = parsed.stat if parsed else "UNKNOWN"
    error = parsed.err if parsed and parsed.err.strip("0") else None
    return DeliveryReport(
        message_id=message_id_for(provider_id) if provider_id else None,
        status=STAT_TO_STATUS.get(stat, "unknown"),
        provider_status=text.strip() or f"stat:{stat}",
        at=now,
        provider_message_id=provider_id,
        error_code=error,
    )
