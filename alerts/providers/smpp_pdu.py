"""SMPP 3.4 PDU codec: bytes <-> typed PDUs, no sockets and no clock.

Covers what an ESME sending alerts needs and what an SMSC stand-in answers: the bind
family, submit_sm / deliver_sm (same body layout, spec 4.4.1 and 4.6.1), their
message-id responses, unbind, enquire_link and generic_nack. Other commands decode to
`RawBody` so a peer can answer them with generic_nack instead of dropping the link.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

HEADER = struct.Struct(">IIII")  # command_length, command_id, command_status, sequence_number
RESPONSE_BIT = 0x80000000
MAX_PDU_LENGTH = 64 * 1024  # far above any legal PDU; stops a corrupt length eating memory
INTERFACE_VERSION_34 = 0x34


class PduError(ValueError):
    """Bytes that are not a well-formed PDU (or a PDU that cannot be encoded)."""


class CommandId(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class CommandStatus(IntEnum):
    """The command_status values this project acts on (spec 5.1.3)."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RMSGQFUL = 0x14
    ESME_RINVESMCLASS = 0x43
    ESME_RSUBMITFAIL = 0x45
    ESME_RTHROTTLED = 0x58
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RINVDCS = 0x104
    ESME_RUNKNOWNERR = 0xFF


class TlvTag(IntEnum):
    RECEIPTED_MESSAGE_ID = 0x001E
    USER_MESSAGE_REFERENCE = 0x0204
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


# esm_class bits (spec 5.2.12)
ESM_CLASS_DELIVERY_RECEIPT = 0x04
ESM_CLASS_UDHI = 0x40
# registered_delivery: SMSC delivery receipt on final outcome, success or failure
REGISTERED_DELIVERY_FINAL = 0x01
# data_coding (spec 5.2.19)
DATA_CODING_DEFAULT = 0x00
DATA_CODING_IA5 = 0x01
DATA_CODING_UCS2 = 0x08


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes

    @classmethod
    def u8(cls, tag: int, value: int) -> Tlv:
        return cls(tag, struct.pack(">B", value))

    @classmethod
    def u16(cls, tag: int, value: int) -> Tlv:
        return cls(tag, struct.pack(">H", value))

    @classmethod
    def cstring(cls, tag: int, value: str) -> Tlv:
        return cls(tag, value.encode("ascii") + b"\x00")

    def as_int(self) -> int:
        return int.from_bytes(self.value, "big")

    def as_cstring(self) -> str:
        return self.value.split(b"\x00", 1)[0].decode("ascii", errors="replace")


@dataclass(frozen=True, slots=True)
class Bind:
    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(frozen=True, slots=True)
class BindResp:
    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """Body of submit_sm and deliver_sm."""

    destination_addr: str
    short_message: bytes = b""
    source_addr: str = ""
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def tlv(self, tag: int) -> Tlv | None:
        return next((t for t in self.tlvs if t.tag == tag), None)


@dataclass(frozen=True, slots=True)
class MessageIdResp:
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class Empty:
    pass


@dataclass(frozen=True, slots=True)
class RawBody:
    data: bytes


Body = Bind | BindResp | ShortMessage | MessageIdResp | Empty | RawBody


@dataclass(frozen=True, slots=True)
class Pdu:
    command_id: int
    sequence_number: int
    command_status: int = 0
    body: Body = field(default_factory=Empty)

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


_BINDS = {CommandId.BIND_RECEIVER, CommandId.BIND_TRANSMITTER, CommandId.BIND_TRANSCEIVER}
_BIND_RESPS = {c | RESPONSE_BIT for c in _BINDS}
_SHORT_MESSAGES = {CommandId.SUBMIT_SM, CommandId.DELIVER_SM}
_MESSAGE_ID_RESPS = {CommandId.SUBMIT_SM_RESP, CommandId.DELIVER_SM_RESP}
_EMPTY = {
    CommandId.GENERIC_NACK,
    CommandId.UNBIND,
    CommandId.UNBIND_RESP,
    CommandId.ENQUIRE_LINK,
    CommandId.ENQUIRE_LINK_RESP,
}

# Maximum C-Octet String sizes including the NUL (spec 4.x field tables)
_MAX = {
    "system_id": 16,
    "password": 9,
    "system_type": 13,
    "address_range": 41,
    "service_type": 6,
    "addr": 21,
    "time": 17,
    "message_id": 65,
}


# --- encoding ---------------------------------------------------------------


def _cstr(value: str, name: str) -> bytes:
    raw = value.encode("ascii") + b"\x00"
    if len(raw) > _MAX[name]:
        raise PduError(f"{name} longer than {_MAX[name] - 1} characters: {value!r}")
    return raw


def _tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    return b"".join(struct.pack(">HH", t.tag, len(t.value)) + t.value for t in tlvs)


def _encode_body(command_id: int, body: Body) -> bytes:
    match body:
        case Empty():
            return b""
        case RawBody(data=data):
            return data
        case Bind():
            return b"".join(
                (
                    _cstr(body.system_id, "system_id"),
                    _cstr(body.password, "password"),
                    _cstr(body.system_type, "system_type"),
                    struct.pack(">BBB", body.interface_version, body.addr_ton, body.addr_npi),
                    _cstr(body.address_range, "address_range"),
                )
            )
        case BindResp():
            return _cstr(body.system_id, "system_id") + _tlvs(body.tlvs)
        case MessageIdResp():
            return _cstr(body.message_id, "message_id")
        case ShortMessage():
            if len(body.short_message) > 254:
                raise PduError("short_message over 254 octets: use message_payload")
            return b"".join(
                (
                    _cstr(body.service_type, "service_type"),
                    struct.pack(">BB", body.source_addr_ton, body.source_addr_npi),
                    _cstr(body.source_addr, "addr"),
                    struct.pack(">BB", body.dest_addr_ton, body.dest_addr_npi),
                    _cstr(body.destination_addr, "addr"),
                    struct.pack(">BBB", body.esm_class, body.protocol_id, body.priority_flag),
                    _cstr(body.schedule_delivery_time, "time"),
                    _cstr(body.validity_period, "time"),
                    struct.pack(
                        ">BBBBB",
                        body.registered_delivery,
                        body.replace_if_present_flag,
                        body.data_coding,
                        body.sm_default_msg_id,
                        len(body.short_message),
                    ),
                    body.short_message,
                    _tlvs(body.tlvs),
                )
            )
    raise PduError(f"cannot encode {type(body).__name__} for command 0x{command_id:08x}")


def encode(pdu: Pdu) -> bytes:
    body = _encode_body(pdu.command_id, pdu.body)
    header = HEADER.pack(
        HEADER.size + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number
    )
    return header + body


# --- decoding ---------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def cstr(self, name: str) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise PduError(f"{name}: missing NUL terminator")
        if end - self.pos + 1 > _MAX[name]:
            raise PduError(f"{name}: longer than {_MAX[name] - 1} characters")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        return raw.decode("ascii", errors="replace")

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise PduError("body ends early")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def octets(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PduError("body ends early")
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        return raw

    def tlvs(self) -> tuple[Tlv, ...]:
        out = []
        while self.pos < len(self.data):
            tag, length = struct.unpack(">HH", self.octets(4))
            out.append(Tlv(tag, self.octets(length)))
        return tuple(out)

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.data)


def _decode_body(command_id: int, data: bytes) -> Body:
    r = _Reader(data)
    if command_id in _EMPTY:
        return Empty()
    if command_id in _BINDS:
        return Bind(
            system_id=r.cstr("system_id"),
            password=r.cstr("password"),
            system_type=r.cstr("system_type"),
            interface_version=r.u8(),
            addr_ton=r.u8(),
            addr_npi=r.u8(),
            address_range=r.cstr("address_range"),
        )
    if command_id in _BIND_RESPS:
        # An error response may carry no body at all (spec 4.1.2)
        return BindResp() if r.at_end else BindResp(r.cstr("system_id"), r.tlvs())
    if command_id in _MESSAGE_ID_RESPS:
        return MessageIdResp() if r.at_end else MessageIdResp(r.cstr("message_id"))
    if command_id in _SHORT_MESSAGES:
        service_type = r.cstr("service_type")
        src_ton, src_npi = r.u8(), r.u8()
        source = r.cstr("addr")
        dst_ton, dst_npi = r.u8(), r.u8()
        destination = r.cstr("addr")
        esm_class, protocol_id, priority = r.u8(), r.u8(), r.u8()
        schedule, validity = r.cstr("time"), r.cstr("time")
        registered, replace, coding, default_id, sm_length = (r.u8() for _ in range(5))
        return ShortMessage(
            service_type=service_type,
            source_addr_ton=src_ton,
            source_addr_npi=src_npi,
            source_addr=source,
            dest_addr_ton=dst_ton,
            dest_addr_npi=dst_npi,
            destination_addr=destination,
            esm_class=esm_class,
            protocol_id=protocol_id,
            priority_flag=priority,
            schedule_delivery_time=schedule,
            validity_period=validity,
            registered_delivery=registered,
            replace_if_present_flag=replace,
            data_coding=coding,
            sm_default_msg_id=default_id,
            short_message=r.octets(sm_length),
            tlvs=r.tlvs(),
        )
    return RawBody(data)


def decode(data: bytes) -> Pdu:
    """Decode one whole PDU (header included); its length must match command_length."""
    if len(data) < HEADER.size:
        raise PduError(f"PDU shorter than its {HEADER.size}-octet header")
    length, command_id, status, sequence = HEADER.unpack_from(data)
    if length != len(data):
        raise PduError(f"command_length {length} but {len(data)} octets given")
    return Pdu(command_id, sequence, status, _decode_body(command_id, data[HEADER.size :]))


def pdu_length(header: bytes) -> int:
    """command_length from the first 4 octets of a stream, checked for sanity."""
    (length,) = struct.unpack(">I", header[:4])
    if not HEADER.size <= length <= MAX_PDU_LENGTH:
        raise PduError(f"implausible command_length {length}")
    return int(length)


def response_to(request: Pdu, body: Body | None = None, status: int = 0) -> Pdu:
    """The response PDU for a request: same sequence number, response bit set."""
    return Pdu(request.command_id | RESPONSE_BIT, request.sequence_number, status, body or Empty())
