"""data_coding choice and segmentation for SMPP."""

from __future__ import annotations

import pytest

from alerts.providers.smpp_text import EncodedText, decode_text, encode_text, split_segments

HANGUL_ALERT = "[심각] 이태원 관광특구 밀집도 5.8명/m² 즉시 현장 통제 바랍니다"


@pytest.mark.parametrize(
    ("text", "coding", "octets"),
    [
        ("Crowd alert", 1, 11),
        (HANGUL_ALERT, 8, 2 * len(HANGUL_ALERT)),
        ("m²", 8, 4),  # one non-ASCII character forces UCS-2
        ("🚨", 8, 4),  # outside the BMP: a surrogate pair
    ],
)
def test_encode_text(text: str, coding: int, octets: int) -> None:
    encoded = encode_text(text)
    assert (encoded.data_coding, len(encoded.payload)) == (coding, octets)
    assert decode_text(encoded.data_coding, encoded.payload) == text


@pytest.mark.parametrize(
    ("text", "segment_chars"),
    [
        ("a" * 160, [160]),
        ("a" * 161, [153, 8]),
        ("가" * 70, [70]),
        ("가" * 71, [67, 4]),
        ("가" * 201, [67, 67, 67]),
        ("가" * 66 + "🚨" + "가" * 3, [66, 5]),  # the pair moves whole to segment 2
    ],
    ids=["ascii_single", "ascii_two", "ucs2_single", "ucs2_two", "ucs2_three", "surrogate"],
)
def test_split_segments(text: str, segment_chars: list[int]) -> None:
    encoded = encode_text(text)
    segments = split_segments(encoded)
    width = 2 if encoded.data_coding == 8 else 1
    assert [len(s) // width for s in segments] == segment_chars
    assert b"".join(segments) == encoded.payload
    assert "".join(decode_text(encoded.data_coding, s) for s in segments) == text


def test_too_many_segments_refused() -> None:
    with pytest.raises(ValueError, match="255"):
        split_segments(EncodedText(1, b"a" * 153 * 256))
