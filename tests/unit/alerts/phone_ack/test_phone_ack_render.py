"""The acknowledgement link in the SMS: at the end, never cut, not in "it is over"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.lifecycle import AlertRecord, TemplateKind, open_alert, resolve
from alerts.messages import LMS_MAX_BYTES, euc_kr_bytes, render_message
from alerts.rules import AlertSubject, Fire, Reading, RuleKind
from citypulse.domain.stages import Stage

AS_OF = datetime(2022, 12, 31, 12, 5, tzinfo=UTC)
LINK = "https://citypulse.example.kr/a/40a.3.6a0b1c2d.AbCdEfGh_jKlMn-p"


def _record(name: str = "이태원 관광특구") -> AlertRecord:
    subject = AlertSubject("POI072", "POI072", None, "용산구", name, "Itaewon")
    reading = Reading(as_of=AS_OF, density_per_m2=3.4, people=12_345.0, trend_per_min=None)
    fire = Fire(
        dedup_key="POI072:stage", rule=RuleKind.STAGE, subject=subject, severity=Stage.ALERT,
        reading=reading, reason="r", decided_at=AS_OF,
    )  # fmt: skip
    return open_alert(fire, "A1042", AS_OF).record


@pytest.mark.parametrize("kind", [TemplateKind.FIRE, TemplateKind.ESCALATE, TemplateKind.REMINDER])
def test_texts_that_ask_for_an_acknowledgement_end_with_the_link(kind: TemplateKind) -> None:
    plain = render_message(kind, "ko", [_record()])
    linked = render_message(kind, "ko", [_record()], LINK)
    assert linked.text == f"{plain.text} {LINK}"
    assert linked.sms.kind == "LMS" and linked.subject is not None  # 90 bytes no longer do


def test_an_overlong_text_is_cut_before_the_link() -> None:
    msg = render_message(TemplateKind.FIRE, "ko", [_record("아주 긴 이름 " * 400)], LINK)
    assert msg.text.endswith(f" {LINK}")
    assert LMS_MAX_BYTES - 1 <= euc_kr_bytes(msg.text) <= LMS_MAX_BYTES


def test_it_is_over_carries_no_link() -> None:
    closed = resolve(_record(), "lee", "해소", AS_OF).record
    msg = render_message(TemplateKind.RESOLVED, "ko", [closed], LINK)
    assert LINK not in msg.text
