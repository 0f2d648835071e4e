"""Message text for SMPP: choose data_coding, encode, and cut long text into segments.

Korean (Hangul) needs UCS-2 (data_coding 8): 70 characters in one SMS, 67 per segment
of a concatenated message (the SMSC's 6-octet UDH takes the rest). Plain ASCII goes as
IA5 (data_coding 1): 160 / 153. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.providers.smpp_pdu import DATA_CODING_DEFAULT, DATA_CODING_IA5, DATA_CODING_UCS2

SINGLE_OCTETS = {DATA_CODING_IA5: 160, DATA_CODING_UCS2: 140}
SEGMENT_OCTETS = {DATA_CODING_IA5: 153, DATA_CODING_UCS2: 134}
MAX_PAYLOAD_OCTETS = 64 * 1024 - 1  # message_payload TLV length is 16 bits


@dataclass(frozen=True, slots=True)
class EncodedText:
    data_coding: int
    payload: bytes


def encode_text(text: str) -> EncodedText:
    if text.isascii():
        return EncodedText(DATA_CODING_IA5, text.encode("ascii"))
    return EncodedText(DATA_CODING_UCS2, text.encode("utf-16-be"))


def decode_text(data_coding: int, payload: bytes) -> str:
    if data_coding == DATA_CODING_UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding in (DATA_CODING_DEFAULT, DATA_CODING_IA5):
        # GSM 03.38 and ASCII agree on letters and digits, which is all receipts use
        return payload.decode("latin-1")
    return payload.decode("latin-1")


def split_segments(encoded: EncodedText) -> list[bytes]:
    """One payload if it fits a single SMS, else segments for sar_* concatenation."""
    single = SINGLE_OCTETS[encoded.data_coding]
    if len(encoded.payload) <= single:
        return [encoded.payload]
    size = SEGMENT_OCTETS[encoded.data_coding]
    segments = []
    rest = encoded.payload
    while rest:
        cut = min(size, len(rest))
        if encoded.data_coding == DATA_CODING_UCS2 and cut < len(rest):
            high = int.from_bytes(rest[cut - 2 : cut], "big")
            if 0xD800 <= high <= 0xDBFF:  # never split a surrogate pair (emoji)
                cut -= 2
        segments.append(rest[:cut])
        rest = rest[cut:]
    if len(segments) > 255:
        raise ValueError("text needs more than 255 segments")
    return segments
