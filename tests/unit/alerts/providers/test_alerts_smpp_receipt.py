"""Delivery receipt text and deliver_sm -> DeliveryReport."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.providers.smpp_pdu import ShortMessage, Tlv, TlvTag
from alerts.providers.smpp_receipt import (
    Receipt,
    format_receipt,
    parse_receipt_text,
    report_from_deliver_sm,
)

NOW = datetime(2025, 12, 24, 19, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "id:0123456789 sub:001 dlvrd:001 submit date:2512241900 done date:2512241901 "
            "stat:DELIVRD err:000 text:Crowd alert",
            Receipt(
                "0123456789",
                "DELIVRD",
                "000",
                "001",
                "001",
                "2512241900",
                "2512241901",
                "Crowd alert",
            ),
        ),
        (
            "id:7 sub:001 dlvrd:000 submit date:2512241900 done date:2512250100 stat:EXPIRED "
            "err:027 text:",
            Receipt("7", "EXPIRED", "027", "001", "000", "2512241900", "2512250100", ""),
        ),
        # upper-case keys and a text that itself contains "id:" and "stat:"
        (
            "ID:abc SUB:001 DLVRD:000 SUBMIT DATE:2512241900 DONE DATE:2512241900 STAT:undeliv "
            "ERR:001 TEXT:stat:DELIVRD id:zzz",
            Receipt(
                "abc",
                "UNDELIV",
                "001",
                "001",
                "000",
                "2512241900",
                "2512241900",
                "stat:DELIVRD id:zzz",
            ),
        ),
        ("id:5 stat:REJECTD", Receipt("5", "REJECTD")),
        ("hello, an ordinary MO text", None),
        ("id:5 err:000", None),  # no stat: not a receipt
        ("", None),
    ],
    ids=["delivered", "expired", "uppercase_tricky_text", "minimal", "mo", "no_stat", "empty"],
)
def test_parse_receipt_text(text: str, expected: Receipt | None) -> None:
    assert parse_receipt_text(text) == expected


@pytest.mark.parametrize(
    ("stat", "status"),
    [
        ("DELIVRD", "delivered"),
        ("UNDELIV", "failed"),
        ("EXPIRED", "expired"),
        ("REJECTD", "rejected"),
        ("ACCEPTD", "queued"),
        ("UNKNOWN", "unknown"),
        ("DELETED", "failed"),
        ("ENROUTE", "at_smsc"),
        ("BOGUS", "unknown"),
    ],
)
def test_receipt_status(stat: str, status: str) -> None:
    assert Receipt("1", stat).status == status


def test_format_then_parse_round_trips() -> None:
    receipt = Receipt("1000001", "DELIVRD", "000", "001", "001", "2512241900", "2512241901", "hi")
    assert parse_receipt_text(format_receipt(receipt)) == receipt


def _receipt_sm(text: str, esm_class: int = 0x04, tlvs: tuple[Tlv, ...] = ()) -> ShortMessage:
    return ShortMessage(
        "1588", text.encode("ascii"), "821012345678", esm_class=esm_class, tlvs=tlvs
    )


@pytest.mark.parametrize(
    ("sm", "message_id", "status", "provider_id", "error_code"),
    [
        (_receipt_sm("id:1000001 stat:DELIVRD err:000"), "m-1", "delivered", "1000001", None),
        (_receipt_sm("id:1000002 stat:UNDELIV err:001"), None, "failed", "1000002", "001"),
        # TLVs win over the text
        (
            _receipt_sm(
                "id:999 stat:DELIVRD err:000",
                tlvs=(
                    Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "1000001"),
                    Tlv.u8(TlvTag.MESSAGE_STATE, 3),
                ),
            ),
            "m-1",
            "expired",
            "1000001",
            None,
        ),
        (
            _receipt_sm(
                "",
                tlvs=(
                    Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "1000001"),
                    Tlv.u8(TlvTag.MESSAGE_STATE, 8),
                ),
            ),
            "m-1",
            "rejected",
            "1000001",
            None,
        ),
    ],
    ids=["delivered_text", "unknown_id_undeliv", "tlv_state_wins", "tlv_only"],
)
def test_report_from_deliver_sm(
    sm: ShortMessage, message_id: str | None, status: str, provider_id: str, error_code: str | None
) -> None:
    ids = {"1000001": "m-1"}
    report = report_from_deliver_sm(sm, ids.get, NOW)
    assert report is not None
    assert (report.message_id, report.status, report.provider_message_id, report.error_code) == (
        message_id,
        status,
        provider_id,
        error_code,
    )
    assert report.at == NOW


def _no_id(_: str) -> str | None:
    return None


def test_mo_message_is_not_a_report() -> None:
    mo = _receipt_sm("id:1 stat:DELIVRD", esm_class=0)
    assert report_from_deliver_sm(mo, _no_id, NOW) is None
