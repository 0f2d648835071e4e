"""The 경계/심각 SMS names the first playbook action for the recipient's agency, in the
recipient's language, within the SMS/LMS length rules; the link is never cut."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.lifecycle import AlertRecord, Notification, TemplateKind, open_alert, resolve
from alerts.messages import LMS_MAX_BYTES, euc_kr_bytes, render_message
from alerts.pipeline.deliver import Render, fan_out
from alerts.playbooks import DEFAULT_BOOK, PlaybookGuide
from alerts.recipients import Recipient, RecipientDirectory
from alerts.rules import AlertSubject, Fire, Reading, RuleKind
from citypulse.domain.stages import Stage

AS_OF = datetime(2022, 12, 31, 12, 5, tzinfo=UTC)  # 21:05 KST
LINK = "https://citypulse.example.kr/a/40a.3.6a0b1c2d.AbCdEfGh_jKlMn-p"
ITAEWON = AlertSubject("POI004", "POI004", None, "용산구", "이태원 관광특구", "Itaewon")
ALLEY = AlertSubject(
    "POI004/POI004-Z2", "POI004", "POI004-Z2", "용산구", "이태원 관광특구", "Itaewon"
)
EXIT = AlertSubject(
    "POI004/POI004-Z3", "POI004", "POI004-Z3", "용산구", "이태원 관광특구", "Itaewon"
)
GUIDE = PlaybookGuide(
    DEFAULT_BOOK, {"POI004": "alley", "POI004/POI004-Z2": "alley", "POI004/POI004-Z3": "station"}
)


def _record(
    severity: Stage = Stage.ALERT, subject: AlertSubject = ITAEWON, rule: RuleKind = RuleKind.STAGE
) -> AlertRecord:
    reading = Reading(as_of=AS_OF, density_per_m2=3.4, people=12_345.0, trend_per_min=None)
    fire = Fire(
        dedup_key=f"{subject.key}:{rule.value}", rule=rule, subject=subject, severity=severity,
        reading=reading, reason="r", decided_at=AS_OF,
    )  # fmt: skip
    return open_alert(fire, "A1042", AS_OF).record


@pytest.mark.parametrize(
    ("lang", "action", "text"),
    [
        ("ko", "현장 안전요원 배치",
         "[인파경계] 이태원 관광특구 3.4명/㎡ 약12,345명 21:05 #A1042 조치: 현장 안전요원 배치"),
        ("en", "Put safety staff on site",
         "[Crowd ALERT(경계)] Itaewon 3.4/m2 ~12,345 ppl 21:05 KST #A1042 "
         "Do: Put safety staff on site"),
        ("ko", None, "[인파경계] 이태원 관광특구 3.4명/㎡ 약12,345명 21:05 #A1042"),
        ("ko", "", "[인파경계] 이태원 관광특구 3.4명/㎡ 약12,345명 21:05 #A1042"),
    ],
)  # fmt: skip
def test_the_text_names_the_action(lang: str, action: str | None, text: str) -> None:
    msg = render_message(TemplateKind.FIRE, lang, [_record()], action=action)  # type: ignore[arg-type]
    assert msg.text == text
    assert msg.sms.byte_length == euc_kr_bytes(text)
    assert msg.sms.kind == ("SMS" if msg.sms.byte_length <= 90 else "LMS")
    if msg.sms.kind == "LMS":
        assert msg.subject is not None and euc_kr_bytes(msg.subject) <= 40


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_action_comes_before_the_link_and_the_link_is_never_cut(lang: str) -> None:
    msg = render_message(TemplateKind.FIRE, lang, [_record()], LINK, "출구 폐쇄")  # type: ignore[arg-type]
    assert msg.text.endswith(f"출구 폐쇄 {LINK}")
    long = render_message(TemplateKind.FIRE, lang, [_record()], LINK, "가" * 2000)  # type: ignore[arg-type]
    assert long.text.endswith(f" {LINK}") and long.text.startswith("[")
    assert LMS_MAX_BYTES - 1 <= euc_kr_bytes(long.text) <= LMS_MAX_BYTES


def test_it_is_over_names_no_action() -> None:
    closed = resolve(_record(), "lee", "해소", AS_OF).record
    msg = render_message(TemplateKind.RESOLVED, "ko", [closed], action="출구 폐쇄")
    assert "조치" not in msg.text and "출구 폐쇄" not in msg.text


def test_a_grouped_text_names_it_on_a_line_of_its_own() -> None:
    msg = render_message(TemplateKind.GROUPED, "ko", [_record(), _record()], action="출구 폐쇄")
    assert msg.text.splitlines()[-1] == "조치: 출구 폐쇄"


DIRECTORY = RecipientDirectory(
    (
        Recipient("1", "용산구청", "010-1111-0001", 1, agency="district"),
        Recipient("2", "용산경찰서", "010-1111-0002", 1, agency="police"),
        Recipient("3", "Yongsan fire", "010-1111-0003", 1, "en", agency="fire"),
        Recipient("4", "서울시 상황실", "010-1111-0004", 1, agency="city"),
    )
)


def _texts(severity: Stage, subject: AlertSubject = ITAEWON, rule: RuleKind = RuleKind.STAGE,
           guide: PlaybookGuide | None = GUIDE) -> dict[str, str]:  # fmt: skip
    note = Notification(
        "A1042", TemplateKind.FIRE, frozenset({1}), _record(severity, subject, rule)
    )
    out = Render(guide=guide)(fan_out([note], DIRECTORY), AS_OF)
    return {a.recipient.recipient_id: a.message.text for a in out if a.message is not None}


@pytest.mark.parametrize(
    ("severity", "subject", "expected"),
    [
        (Stage.ALERT, ITAEWON, {"1": "조치: 골목 입구 안전요원 배치",
                                "2": "조치: 골목 일방통행 보행 유도 및 유입 통제",
                                "3": "Do: Stage an ambulance nearby",
                                "4": "조치: 서울시 상황실 보고 및 인근 역 무정차 검토"}),
        (Stage.SERIOUS, ITAEWON, {"1": "조치: 재난문자 발송 및 우회 안내",
                                  "2": "조치: 골목 진입 차단 및 일방통행 보행 통제",
                                  "3": "Do: Send rescue and set up a first aid post",
                                  "4": "조치: 경찰·소방 출동 요청"}),
        # A station exit inside Itaewon gets the station's checklist.
        (Stage.SERIOUS, EXIT, {"1": "조치: 재난문자 발송 및 우회 안내",
                               "2": "조치: 혼잡 출구 폐쇄 및 일방통행 보행 통제",
                               "3": "Do: Send rescue and set up a first aid post",
                               "4": "조치: 경찰·소방 출동 요청"}),
        (Stage.ALERT, ALLEY, {"2": "조치: 골목 일방통행 보행 유도 및 유입 통제"}),
    ],
)  # fmt: skip
def test_each_recipient_gets_the_first_action_of_its_agency(
    severity: Stage, subject: AlertSubject, expected: dict[str, str]
) -> None:
    texts = _texts(severity, subject)
    for rid, tail in expected.items():
        assert texts[rid].endswith(tail), (rid, texts[rid])


@pytest.mark.parametrize(
    ("severity", "rule", "guide"),
    [
        (Stage.CAUTION, RuleKind.STAGE, GUIDE),  # below 경계: the text stays short
        (Stage.ATTENTION, RuleKind.STAGE, GUIDE),
        (Stage.SERIOUS, RuleKind.STAGE, None),  # no playbooks loaded
        (Stage.SERIOUS, RuleKind.STAGE, PlaybookGuide()),  # an empty book
    ],
)
def test_no_action_below_alert_or_without_a_book(
    severity: Stage, rule: RuleKind, guide: PlaybookGuide | None
) -> None:
    texts = _texts(severity, rule=rule, guide=guide)
    assert len(texts) == 4
    assert not any("조치" in t or "Do:" in t for t in texts.values())
