"""How a phone number appears anywhere but the SMS itself: logs, errors, the API.

One format everywhere, so an operator comparing a log line with the recipients page sees
the same string: the country code and the last four digits, e.g. "+82******5678".
"""

from __future__ import annotations

import re


def mask_phone(number: str) -> str:
    """'+821012345678' -> '+82******5678'; anything not E.164-shaped -> '***' + last 2 digits.

    Short or malformed input never shows more than two digits: it may be a typo of a
    real number in an error message.
    """
    if re.fullmatch(r"\+\d{8,15}", number):
        return number[:3] + "*" * (len(number) - 7) + number[-4:]
    digits = re.sub(r"\D", "", number)
    return f"***{digits[-2:]}" if len(digits) >= 2 else "***"
