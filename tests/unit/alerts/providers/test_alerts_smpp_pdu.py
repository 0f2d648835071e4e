"""SMPP 3.4 PDU codec: known byte vectors laid out per the spec's field tables, round trips."""

from __future__ import annotations

import pytest

from alerts.providers.smpp_pdu import (
    Bind,
    BindResp,
    CommandId,
    CommandStatus,
    Empty,
    MessageIdResp,
    Pdu,
    PduError,
    RawBody,
    ShortMessage,
    Tlv,
    TlvTag,
    decode,
    encode,
    pdu_length,
    response_to,
)

# Spec 3.3 example: bind_transmitter "SMPP3TEST"/"secret08"/"SUBMIT1", ton 1, npi 1.
BIND_TRANSMITTER_SPEC = bytes.fromhex(
    "0000002f000000020000000000000001"
    "534d5050335445535400"  # system_id "SMPP3TEST\0"
    "7365637265743038"
    "00"  # password "secret08\0"
    "5355424d49543100"  # system_type "SUBMIT1\0"
    "34"
    "01"
    "01"
    "00"  # interface_version, addr_ton, addr_npi, address_range ""
)

SUBMIT_SM_HANGUL = bytes.fromhex(
    "0000003500000004000000000000000a"
    "00"  # service_type ""
    "0101"
    "3135383800"  # source ton/npi, "1588"
    "0101"
    "38323130313233343536373800"  # dest ton/npi, "821012345678"
    "000000"  # esm_class, protocol_id, priority_flag
    "00"
    "00"  # schedule_delivery_time "", validity_period ""
    "01"
    "00"
    "08"
    "00"
    "04"  # registered_delivery, replace, data_coding UCS-2, default id, len
    "ACBDACC4"  # "경계" in UTF-16BE
)


@pytest.mark.parametrize(
    ("pdu", "wire"),
    [
        (
            Pdu(CommandId.ENQUIRE_LINK, 1),
            bytes.fromhex("00000010000000150000000000000001"),
        ),
        (
            Pdu(CommandId.ENQUIRE_LINK_RESP, 0x7FFFFFFF),
            bytes.fromhex("0000001080000015000000007fffffff"),
        ),
        (
            Pdu(CommandId.UNBIND, 2),
            bytes.fromhex("00000010000000060000000000000002"),
        ),
        (
            Pdu(CommandId.GENERIC_NACK, 3, CommandStatus.ESME_RINVCMDID),
            bytes.fromhex("00000010800000000000000300000003"),
        ),
        (
            Pdu(
                CommandId.BIND_TRANSMITTER,
                1,
                0,
                Bind("SMPP3TEST", "secret08", "SUBMIT1", 0x34, 1, 1),
            ),
            BIND_TRANSMITTER_SPEC,
        ),
        (
            Pdu(CommandId.BIND_TRANSCEIVER_RESP, 1, 0, BindResp("SMSC")),
            bytes.fromhex("00000015800000090000000000000001534d534300"),
        ),
        (
            Pdu(CommandId.SUBMIT_SM_RESP, 10, 0, MessageIdResp("1000001")),
            bytes.fromhex("0000001880000004000000000000000a") + b"1000001\x00",
        ),
        (
            Pdu(
                CommandId.SUBMIT_SM,
                10,
                0,
                ShortMessage(
                    destination_addr="821012345678",
                    source_addr="1588",
                    source_addr_ton=1,
                    source_addr_npi=1,
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    registered_delivery=1,
                    data_coding=8,
                    short_message="경계".encode("utf-16-be"),
                ),
            ),
            SUBMIT_SM_HANGUL,
        ),
    ],
    ids=[
        "enquire_link",
        "enquire_link_resp",
        "unbind",
        "generic_nack",
        "bind_tx_spec",
        "bind_trx_resp",
        "submit_sm_resp",
        "submit_sm_hangul",
    ],
)
def test_known_vectors_encode_and_decode(pdu: Pdu, wire: bytes) -> None:
    assert encode(pdu) == wire
    assert decode(wire) == pdu


@pytest.mark.parametrize(
    "pdu",
    [
        Pdu(CommandId.BIND_RECEIVER, 5, 0, Bind("citypulse", "pw", "", 0x34, 0, 0, "^8210")),
        Pdu(
            CommandId.BIND_TRANSCEIVER_RESP,
            5,
            0,
            BindResp("X", (Tlv.u8(TlvTag.SC_INTERFACE_VERSION, 0x34),)),
        ),
        Pdu(
            CommandId.DELIVER_SM,
            9,
            0,
            ShortMessage(
                destination_addr="1588",
                source_addr="821012345678",
                esm_class=0x04,
                short_message=(
                    b"id:1 sub:001 dlvrd:001 submit date:2501011200 "
                    b"done date:2501011201 stat:DELIVRD err:000 text:"
                ),
                tlvs=(
                    Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "1"),
                    Tlv.u8(TlvTag.MESSAGE_STATE, 2),
                ),
            ),
        ),
        Pdu(
            CommandId.SUBMIT_SM,
            11,
            0,
            ShortMessage(
                destination_addr="821012345678",
                data_coding=8,
                short_message=b"\xac\xbd" * 67,
                tlvs=(
                    Tlv.u16(TlvTag.SAR_MSG_REF_NUM, 513),
                    Tlv.u8(TlvTag.SAR_TOTAL_SEGMENTS, 3),
                    Tlv.u8(TlvTag.SAR_SEGMENT_SEQNUM, 2),
                ),
            ),
        ),
        Pdu(
            CommandId.SUBMIT_SM,
            12,
            0,
            ShortMessage("8210", tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"x" * 1000),)),
        ),
        Pdu(CommandId.SUBMIT_SM_RESP, 13, CommandStatus.ESME_RTHROTTLED, MessageIdResp("")),
        Pdu(0x00000103, 14, 0, RawBody(b"\x00\x01\x02")),  # data_sm: not decoded, kept raw
    ],
    ids=[
        "bind_rx_range",
        "bind_resp_tlv",
        "deliver_sm_receipt",
        "submit_sar",
        "submit_payload",
        "submit_resp_error",
        "unknown_command",
    ],
)
def test_round_trip(pdu: Pdu) -> None:
    assert decode(encode(pdu)) == pdu


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        # error responses may omit the body entirely (spec 4.1.2 / 4.4.2)
        (bytes.fromhex("00000010800000040000004500000007"), MessageIdResp("")),
        (bytes.fromhex("00000010800000090000000e00000001"), BindResp("")),
    ],
)
def test_error_responses_without_body(wire: bytes, expected: object) -> None:
    assert decode(wire).body == expected


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"\x00\x00\x00", "shorter than"),
        (bytes.fromhex("00000011000000150000000000000001"), "command_length 17"),
        (bytes.fromhex("0000001400000002000000000000000141424344"), "missing NUL"),
        (bytes.fromhex("00000020000000040000000000000001000000") + b"\x00" * 13, "ends early"),
        (
            bytes.fromhex("00000024000000020000000000000001") + b"A" * 19 + b"\x00",
            "system_id: longer than 15",
        ),
    ],
    ids=["short", "length_mismatch", "no_nul", "truncated_submit", "system_id_too_long"],
)
def test_malformed_pdus_raise(wire: bytes, message: str) -> None:
    with pytest.raises(PduError, match=message):
        decode(wire)


@pytest.mark.parametrize(
    ("header", "length"),
    [(bytes.fromhex("00000010"), 16), (bytes.fromhex("0000002f"), 47)],
)
def test_pdu_length(header: bytes, length: int) -> None:
    assert pdu_length(header) == length


@pytest.mark.parametrize("header", [bytes.fromhex("0000000f"), bytes.fromhex("7fffffff")])
def test_pdu_length_refuses_implausible(header: bytes) -> None:
    with pytest.raises(PduError):
        pdu_length(header)


def test_encode_refuses_oversized_fields() -> None:
    with pytest.raises(PduError, match="password"):
        encode(Pdu(CommandId.BIND_TRANSCEIVER, 1, 0, Bind("id", "123456789")))
    with pytest.raises(PduError, match="254"):
        encode(Pdu(CommandId.SUBMIT_SM, 1, 0, ShortMessage("8210", b"x" * 255)))


def test_response_to_keeps_sequence_and_sets_response_bit() -> None:
    request = Pdu(CommandId.DELIVER_SM, 42, 0, ShortMessage("1588"))
    resp = response_to(request, MessageIdResp(""), CommandStatus.ESME_RX_T_APPN)
    assert (resp.command_id, resp.sequence_number, resp.command_status) == (0x80000005, 42, 0x64)
    assert resp.is_response and not request.is_response
    assert response_to(Pdu(CommandId.ENQUIRE_LINK, 7)).body == Empty()
