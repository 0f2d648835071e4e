"""SMS/LMS text: ko/en templates and EUC-KR sizing. Pure."""

from alerts.messages.encoding import (
    LMS_MAX_BYTES,
    LMS_SUBJECT_MAX_BYTES,
    SMS_MAX_BYTES,
    SmsClass,
    classify_sms,
    euc_kr_bytes,
    to_euc_kr_safe,
    truncate_euc_kr,
)
from alerts.messages.templates import RenderedMessage, hhmm_kst, render_message

__all__ = [
    "LMS_MAX_BYTES",
    "LMS_SUBJECT_MAX_BYTES",
    "SMS_MAX_BYTES",
    "RenderedMessage",
    "SmsClass",
    "classify_sms",
    "euc_kr_bytes",
    "hhmm_kst",
    "render_message",
    "to_euc_kr_safe",
    "truncate_euc_kr",
]
