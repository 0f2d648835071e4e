"""EUC-KR for Korean carriers: safe text, exact byte counts, SMS or LMS.

Python's `euc_kr` codec accepts every modern Hangul syllable, but the 8,822 syllables
outside KS X 1001's 2,350 (e.g. '똠', '쀍') come out as an 8-byte KS X 1001 Annex 3
jamo sequence (A4D4 filler + three jamo) that carriers do not render. Only characters
that encode to one ASCII byte or one 2-byte KS X 1001 code are kept; the rest are
replaced: accents stripped (é -> e), common punctuation mapped (– -> -), emoji and
invisible joiners dropped, anything else '?'.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
LMS_SUBJECT_MAX_BYTES = 40
REPLACEMENT = "?"

_PUNCTUATION = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
    "\u00a0": " ",  # no-break space
    "\u2009": " ",  # thin space
    "\t": " ",
    "\r": "",
    "\u20ac": "EUR",
    "\u2122": "TM",
}
# Emoji and their glue: drop rather than print '?' marks in a safety message.
_DROP_RANGES = (
    (0x1F000, 0x1FAFF),  # emoji, pictographs, flags
    (0x2600, 0x27BF),  # misc symbols and dingbats not in KS X 1001 (checked first)
    (0xFE00, 0xFE0F),  # variation selectors
    (0x200B, 0x200F),  # zero-width space/joiners, direction marks
    (0xE0000, 0xE007F),  # tags
)


def _encodes_as_ks_x_1001(ch: str) -> bool:
    try:
        data = ch.encode("euc_kr")
    except UnicodeEncodeError:
        return False
    return len(data) == 1 if ch.isascii() else len(data) == 2


def _dropped(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _DROP_RANGES)


def _replace(ch: str) -> str:
    if ch in _PUNCTUATION:
        return _PUNCTUATION[ch]
    if ch.isascii():  # control characters other than newline
        return ch if ch == "\n" or ch.isprintable() else " "
    if _dropped(ch):
        return ""
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and base != ch and all(_encodes_as_ks_x_1001(c) for c in base):
        return base
    return REPLACEMENT


def to_euc_kr_safe(text: str) -> str:
    """The text with every character a Korean carrier accepts kept and the rest replaced."""
    out = []
    for ch in text:
        # Checked before the drop ranges: ★ is in KS X 1001 though in a dingbat block.
        ascii_ok = ch.isascii() and (ch == "\n" or ch.isprintable())
        if ascii_ok or (not ch.isascii() and _encodes_as_ks_x_1001(ch)):
            out.append(ch)
        else:
            out.append(_replace(ch))
    return "".join(out)


def euc_kr_bytes(text: str) -> int:
    """Exact length in EUC-KR of text already made safe (raises on anything else)."""
    return len(text.encode("euc_kr"))


def truncate_euc_kr(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` within max_bytes, cut on a character boundary."""
    total = 0
    for i, ch in enumerate(text):
        total += len(ch.encode("euc_kr"))
        if total > max_bytes:
            return text[:i]
    return text


@dataclass(frozen=True)
class SmsClass:
    kind: Literal["SMS", "LMS"]
    byte_length: int


def classify_sms(text: str) -> SmsClass:
    """SMS up to 90 EUC-KR bytes, LMS above (the caller truncates past 2,000)."""
    n = euc_kr_bytes(text)
    return SmsClass("SMS" if n <= SMS_MAX_BYTES else "LMS", n)
