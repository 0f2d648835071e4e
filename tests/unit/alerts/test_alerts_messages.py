"""EUC-KR sizing and the ko/en templates, byte counts exact."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from alerts.lifecycle import AlertRecord, TemplateKind, open_alert, resolve
from alerts.messages import (
    SmsClass,
    classify_sms,
    euc_kr_bytes,
    hhmm_kst,
    render_message,
    to_euc_kr_safe,
    truncate_euc_kr,
)
from alerts.rules import AlertSubject, Fire, Reading, RuleKind
from citypulse.domain.stages import Stage


@pytest.mark.parametrize(
    ("text", "safe", "n_bytes"),
    [
        ("", "", 0),
        ("ABC 123", "ABC 123", 7),
        ("가", "가", 2),
        ("이태원 관광특구", "이태원 관광특구", 15),
        ("광화문·덕수궁", "광화문·덕수궁", 14),  # · is KS X 1001 A1A4
        ("3.4명/㎡ ↑", "3.4명/㎡ ↑", 11),  # ㎡ A7B3, ↑ A1E8
        # Outside KS X 1001's 2,350 syllables: Python would emit 8 bytes; we replace.
        ("똠양꿍", "?양꿍", 5),
        ("쀍 햏 뷁", "? ? ?", 5),
        ("힣", "?", 1),
        ("emoji 😀👍🏽 end", "emoji  end", 10),
        ("❤️ 가", " 가", 3),  # heart + variation selector dropped
        ("👨‍👩‍👧", "", 0),  # ZWJ family sequence dropped whole
        ("★☆", "★☆", 4),  # dingbats that are in KS X 1001 stay
        ("café naïve", "cafe naive", 10),
        ("5–6명 — 심각", "5-6명 - 심각", 12),
        ("a\tb\r\nc", "a b\nc", 5),
        ("中區 Привет", "中區 Привет", 17),  # hanja and Cyrillic are in KS X 1001
        ("ไทย", "???", 3),
    ],
)
def test_euc_kr_safe_and_byte_count(text: str, safe: str, n_bytes: int) -> None:
    out = to_euc_kr_safe(text)
    assert out == safe
    assert euc_kr_bytes(out) == n_bytes


def test_every_ks_x_1001_syllable_is_kept_and_no_other() -> None:
    kept = [chr(c) for c in range(0xAC00, 0xD7A4) if to_euc_kr_safe(chr(c)) == chr(c)]
    assert len(kept) == 2350
    assert all(len(ch.encode("euc_kr")) == 2 for ch in kept)
    assert "똠".encode("euc_kr") == bytes.fromhex("a4d4a4a8a4c7a4b1")  # why we check length


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("가" * 45, SmsClass("SMS", 90)),
        ("가" * 44 + "a", SmsClass("SMS", 89)),
        ("가" * 45 + "a", SmsClass("LMS", 91)),
        ("a" * 90, SmsClass("SMS", 90)),
        ("a" * 91, SmsClass("LMS", 91)),
    ],
)
def test_classify_sms(text: str, expected: SmsClass) -> None:
    assert classify_sms(text) == expected


@pytest.mark.parametrize(
    ("text", "max_bytes", "expected"),
    [
        ("가나다", 5, "가나"),  # never half a Hangul
        ("가나다", 6, "가나다"),
        ("a가b", 2, "a"),
        ("a가b", 3, "a가"),
        ("", 10, ""),
    ],
)
def test_truncate_on_character_boundary(text: str, max_bytes: int, expected: str) -> None:
    assert truncate_euc_kr(text, max_bytes) == expected


SUBJECT = AlertSubject("POI072", "POI072", None, "용산구", "이태원 관광특구", "Itaewon")
AS_OF = datetime(2022, 12, 31, 12, 5, tzinfo=UTC)  # 21:05 KST


def record(
    rule: RuleKind = RuleKind.STAGE,
    severity: Stage = Stage.ALERT,
    alert_id: str = "A1042",
    subject: AlertSubject = SUBJECT,
    density: float = 3.44,
    trend: float | None = 0.12,
    warning: bool = False,
) -> AlertRecord:
    reading = Reading(
        as_of=AS_OF, density_per_m2=density, people=12_345.0, trend_per_min=trend,
        forecast_density_per_m2=5.26, forecast_horizon_min=20, forecast_warning=warning,
    )  # fmt: skip
    fire = Fire(
        dedup_key=f"{subject.key}:{rule.value}", rule=rule, subject=subject, severity=severity,
        reading=reading, reason="r", decided_at=AS_OF,
    )  # fmt: skip
    return open_alert(fire, alert_id, AS_OF).record


@pytest.mark.parametrize(
    ("kind", "lang", "rec", "text", "sms"),
    [
        (TemplateKind.FIRE, "ko", record(),
         "[인파경계] 이태원 관광특구 3.4명/㎡ 약12,345명 +0.12/분 21:05 #A1042",
         SmsClass("SMS", 68)),
        (TemplateKind.FIRE, "ko", record(severity=Stage.SERIOUS, trend=None),
         "[인파심각] 이태원 관광특구 3.4명/㎡ 약12,345명 21:05 #A1042", SmsClass("SMS", 59)),
        (TemplateKind.FIRE, "en", record(),
         "[Crowd ALERT(경계)] Itaewon 3.4/m2 ~12,345 ppl +0.12/min 21:05 KST #A1042",
         SmsClass("SMS", 73)),
        (TemplateKind.FIRE, "ko", record(RuleKind.RATE_OF_RISE, Stage.CAUTION),
         "[인파급증 주의] 이태원 관광특구 3.4명/㎡ 약12,345명 +0.12/분 21:05 #A1042",
         SmsClass("SMS", 73)),
        (TemplateKind.FIRE, "ko", record(RuleKind.FORECAST),
         "[인파예측] 이태원 관광특구 20분내 심각 예상(5.3명/㎡) 현재 3.4명/㎡ 약12,345명 +0.12/분 "
         "21:05 #A1042", SmsClass("LMS", 100)),
        (TemplateKind.FIRE, "ko", record(RuleKind.DATA_GAP, Stage.CAUTION),
         "[데이터중단] 이태원 관광특구 수신없음 최근 3.4명/㎡ 21:05 #A1042", SmsClass("SMS", 64)),
        # an impossible number must not read as a crowd: no density, no head count
        (TemplateKind.FIRE, "ko", record(RuleKind.DATA_QUALITY, Stage.CAUTION),
         "[데이터이상] 이태원 관광특구 비정상 센서값 점검요망 21:05 #A1042", SmsClass("SMS", 64)),
        (TemplateKind.ESCALATE, "ko", record(severity=Stage.SERIOUS),
         "[인파심각 격상] 이태원 관광특구 3.4명/㎡ 약12,345명 +0.12/분 21:05 #A1042",
         SmsClass("SMS", 73)),
        # the one alert of a key raised to (or at) 경계 by the forecast warning says what it
        # foresees; another escalation's reading names no warning (the row above)
        (TemplateKind.ESCALATE, "ko", record(severity=Stage.ALERT, warning=True),
         "[인파예측 경계] 이태원 관광특구 20분내 심각 예상(5.3명/㎡) 현재 3.4명/㎡ 약12,345명 "
         "+0.12/분 21:05 #A1042", SmsClass("LMS", 105)),
        (TemplateKind.DEESCALATE, "ko", record(severity=Stage.CAUTION),
         "[인파주의 하향] 이태원 관광특구 3.4명/㎡ 약12,345명 +0.12/분 21:05 #A1042",
         SmsClass("SMS", 73)),
        (TemplateKind.REMINDER, "ko", record(),
         "[미확인 경계] 이태원 관광특구 3.4명/㎡ 약12,345명 +0.12/분 21:05 확인요망 #A1042",
         SmsClass("SMS", 80)),
        (TemplateKind.RESOLVED, "ko", resolve(record(), "lee", "해소", AS_OF).record,
         "[인파해제] 이태원 관광특구 3.4명/㎡ 종료(최고 경계) 21:05 #A1042", SmsClass("SMS", 64)),
    ],
)  # fmt: skip
def test_single_templates(
    kind: TemplateKind, lang: str, rec: AlertRecord, text: str, sms: SmsClass
) -> None:
    msg = render_message(kind, lang, [rec])  # type: ignore[arg-type]
    assert msg.text == text
    assert msg.sms == sms
    assert len(msg.text.encode("euc_kr")) == sms.byte_length
    assert msg.alert_ids == ("A1042",)
    if sms.kind == "LMS":
        assert msg.subject is not None and euc_kr_bytes(msg.subject) <= 40
    else:
        assert msg.subject is None


def test_grouped_message_is_an_lms_with_a_subject() -> None:
    yongsan = AlertSubject("POI073", "POI073", None, "용산구", "용산역", "Yongsan Station")
    recs = [
        record(),
        record(alert_id="A1043", subject=yongsan, severity=Stage.CAUTION, density=2.31),
    ]
    msg = render_message(TemplateKind.FIRE, "ko", recs)
    assert msg.kind is TemplateKind.GROUPED
    assert msg.text == (
        "[인파 용산구 2건 최고 경계]\n"
        "이태원 관광특구 경계 3.4명/㎡ #A1042\n"
        "용산역 주의 2.3명/㎡ #A1043\n"
        "21:05"
    )
    assert msg.sms == SmsClass("LMS", 98)
    assert msg.subject == "[인파 용산구 2건 최고 경계]"
    assert euc_kr_bytes(msg.subject) == 27
    assert msg.alert_ids == ("A1042", "A1043")


def test_unsafe_area_name_and_overlong_lms() -> None:
    odd = AlertSubject("POI999", "POI999", None, "똠방구", "똠방각하 거리 🎉" * 200, "x")
    msg = render_message(TemplateKind.FIRE, "ko", [record(subject=odd)])
    assert msg.text.startswith("[인파경계] ?방각하 거리 ?방각하")
    assert "🎉" not in msg.text
    assert msg.sms.kind == "LMS" and msg.sms.byte_length <= 2000
    assert msg.sms.byte_length >= 1999  # cut on a character boundary, no room wasted
    assert msg.subject is not None and euc_kr_bytes(msg.subject) <= 40


@pytest.mark.parametrize(
    ("utc", "kst"),
    [
        (datetime(2022, 12, 31, 12, 5, tzinfo=UTC), "21:05"),
        (datetime(2022, 12, 31, 15, 0, tzinfo=UTC), "00:00"),  # New Year in Seoul
        (datetime(2023, 7, 1, 23, 59, tzinfo=UTC), "08:59"),
    ],
)
def test_time_is_kst(utc: datetime, kst: str) -> None:
    assert hhmm_kst(utc) == kst


def test_a_feed_gap_names_the_feed_and_no_density() -> None:
    from alerts.pipeline.feeds import feed_subject

    rec = record(RuleKind.DATA_GAP, Stage.CAUTION)
    rec = dataclasses.replace(rec, subject=feed_subject("telecom", 5))
    ko = render_message(TemplateKind.FIRE, "ko", [rec]).text
    en = render_message(TemplateKind.FIRE, "en", [rec]).text
    assert ko.startswith("[데이터중단] 통신사 인구 피드 5곳 이상 수신없음 ") and "명/㎡" not in ko
    assert en.startswith("[DATA GAP] telecom population feed, 5+ areas silent ") and "/m2" not in en
