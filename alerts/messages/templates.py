"""ko/en SMS text for each notification kind, sized in EUC-KR bytes.

Every message carries the area, the stage (Korean label, in en too: operators say
경계 in both), density with one decimal, the head count, the trend, the data time in KST
and the alert id, so a recipient can act on one text and quote it back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.lifecycle.record import AlertRecord, AlertStatus, TemplateKind
from alerts.messages.encoding import (
    LMS_MAX_BYTES,
    LMS_SUBJECT_MAX_BYTES,
    SmsClass,
    classify_sms,
    to_euc_kr_safe,
    truncate_euc_kr,
)
from alerts.recipients import Language
from alerts.rules import RuleKind
from citypulse.domain.korea_time import KST


@dataclass(frozen=True)
class RenderedMessage:
    kind: TemplateKind
    language: Language
    text: str  # EUC-KR safe
    subject: str | None  # LMS only, at most 40 bytes
    sms: SmsClass
    alert_ids: tuple[str, ...]


def hhmm_kst(t: datetime) -> str:
    return t.astimezone(KST).strftime("%H:%M")


def _area(r: AlertRecord, lang: Language) -> str:
    return (r.subject.name_en or r.subject.name_ko) if lang == "en" else r.subject.name_ko


def _stage(r: AlertRecord, lang: Language) -> str:
    ko = r.severity.label_ko
    return f"{r.severity.label_en.upper()}({ko})" if lang == "en" else ko


def _numbers(r: AlertRecord, lang: Language) -> str:
    d, people = r.reading.density_per_m2, round(r.reading.people)
    trend = r.reading.trend_per_min
    if lang == "en":
        parts = [f"{d:.1f}/m2", f"~{people:,} ppl"]
        if trend is not None:
            parts.append(f"{trend:+.2f}/min")
    else:
        parts = [f"{d:.1f}명/㎡", f"약{people:,}명"]
        if trend is not None:
            parts.append(f"{trend:+.2f}/분")
    return " ".join(parts)


def _time(r: AlertRecord, lang: Language, t: datetime | None = None) -> str:
    hm = hhmm_kst(t or r.reading.as_of)
    return f"{hm} KST" if lang == "en" else hm


def _fire(r: AlertRecord, lang: Language) -> str:
    area, st, nums, tm = _area(r, lang), _stage(r, lang), _numbers(r, lang), _time(r, lang)
    if r.rule is RuleKind.FORECAST:
        h, fd = r.reading.forecast_horizon_min, r.reading.forecast_density_per_m2 or 0.0
        if lang == "en":
            return f"[Crowd FORECAST] {area} SERIOUS(심각) in {h}min ({fd:.1f}/m2) now {nums} {tm}"
        return f"[인파예측] {area} {h}분내 심각 예상({fd:.1f}명/㎡) 현재 {nums} {tm}"
    if r.rule is RuleKind.ABOVE_NORMAL and r.reading.normal_people:
        x = r.reading.people / r.reading.normal_people
        return (
            f"[Crowd {x:.1f}x USUAL {st}] {area} {nums} {tm}"
            if lang == "en"
            else f"[인파 평소의 {x:.1f}배 {st}] {area} {nums} {tm}"
        )
    if r.rule is RuleKind.RATE_OF_RISE:
        return (
            f"[Crowd RISING {st}] {area} {nums} {tm}"
            if lang == "en"
            else f"[인파급증 {st}] {area} {nums} {tm}"
        )
    if r.rule is RuleKind.DATA_GAP and r.subject.is_feed:  # no one density for a whole feed
        return (
            f"[DATA GAP] {area} silent {tm}"
            if lang == "en"
            else f"[데이터중단] {area} 수신없음 {tm}"
        )
    if r.rule is RuleKind.DATA_GAP:
        return (
            f"[DATA GAP] {area} feed silent, last {r.reading.density_per_m2:.1f}/m2 {tm}"
            if lang == "en"
            else f"[데이터중단] {area} 수신없음 최근 {r.reading.density_per_m2:.1f}명/㎡ {tm}"
        )
    if r.rule is RuleKind.DATA_QUALITY:  # an impossible number must not read as a crowd
        return (
            f"[DATA QUALITY] {area} implausible sensor input, check the feed {tm}"
            if lang == "en"
            else f"[데이터이상] {area} 비정상 센서값 점검요망 {tm}"
        )
    return f"[Crowd {st}] {area} {nums} {tm}" if lang == "en" else f"[인파{st}] {area} {nums} {tm}"


def _escalate(r: AlertRecord, lang: Language) -> str:
    area, st, nums, tm = _area(r, lang), _stage(r, lang), _numbers(r, lang), _time(r, lang)
    h = r.reading.forecast_horizon_min
    if r.reading.forecast_warning and h is not None:
        # the forecast warning on the one alert of its key (raised to, or already at, its
        # stage): say what it foresees, as its own alert's text did
        fd = r.reading.forecast_density_per_m2 or 0.0
        return (
            f"[Crowd FORECAST {st}] {area} SERIOUS(심각) in {h}min ({fd:.1f}/m2) now {nums} {tm}"
            if lang == "en"
            else f"[인파예측 {st}] {area} {h}분내 심각 예상({fd:.1f}명/㎡) 현재 {nums} {tm}"
        )
    return (
        f"[Crowd UP {st}] {area} {nums} {tm}"
        if lang == "en"
        else f"[인파{st} 격상] {area} {nums} {tm}"
    )


def _deescalate(r: AlertRecord, lang: Language) -> str:
    area, st, nums, tm = _area(r, lang), _stage(r, lang), _numbers(r, lang), _time(r, lang)
    return (
        f"[Crowd DOWN {st}] {area} {nums} {tm}"
        if lang == "en"
        else f"[인파{st} 하향] {area} {nums} {tm}"
    )


def _reminder(r: AlertRecord, lang: Language) -> str:
    area, st, nums, tm = _area(r, lang), _stage(r, lang), _numbers(r, lang), _time(r, lang)
    return (
        f"[UNACKED {st}] {area} {nums} {tm} please ack"
        if lang == "en"
        else f"[미확인 {st}] {area} {nums} {tm} 확인요망"
    )


def _resolved(r: AlertRecord, lang: Language) -> str:
    area, tm = _area(r, lang), _time(r, lang, r.resolved_at)
    d, peak = r.reading.density_per_m2, r.peak_severity
    auto = r.status is AlertStatus.AUTO_RESOLVED
    if lang == "en":
        how = "cleared" if auto else f"closed by {r.resolved_by}"
        top = f"{peak.label_en.upper()}({peak.label_ko})"
        return f"[Crowd OVER] {area} {d:.1f}/m2 {how}, peak {top} {tm}"
    how = "해소" if auto else "종료"
    return f"[인파해제] {area} {d:.1f}명/㎡ {how}(최고 {peak.label_ko}) {tm}"


_SINGLE: dict[TemplateKind, Callable[[AlertRecord, Language], str]] = {
    TemplateKind.FIRE: _fire,
    TemplateKind.ESCALATE: _escalate,
    TemplateKind.DEESCALATE: _deescalate,
    TemplateKind.REMINDER: _reminder,
    TemplateKind.RESOLVED: _resolved,
}


def _grouped(records: Sequence[AlertRecord], lang: Language) -> tuple[str, str]:
    top = max(records, key=lambda r: (r.severity, r.reading.density_per_m2))
    district, n = top.subject.district, len(records)
    if lang == "en":
        head = f"[Crowd {district} {n} alerts, top {_stage(top, lang)}]"
        lines = [
            f"{_area(r, lang)} {_stage(r, lang)} {r.reading.density_per_m2:.1f}/m2 #{r.alert_id}"
            for r in records
        ]
    else:
        head = f"[인파 {district} {n}건 최고 {_stage(top, lang)}]"
        lines = [
            f"{_area(r, lang)} {_stage(r, lang)} {r.reading.density_per_m2:.1f}명/㎡ #{r.alert_id}"
            for r in records
        ]
    latest = max(r.reading.as_of for r in records)
    return head, "\n".join([head, *lines, _time(top, lang, latest)])


# Texts that ask for an acknowledgement carry the link; "it is over" asks for nothing.
LINKED_KINDS = frozenset(set(TemplateKind) - {TemplateKind.RESOLVED})
# Texts that may name the recipient's first playbook action (경계/심각: alerts.playbooks).
ACTION_KINDS = frozenset(
    {TemplateKind.FIRE, TemplateKind.ESCALATE, TemplateKind.REMINDER, TemplateKind.GROUPED}
)


def _with_action(body: str, action: str | None, language: Language) -> str:
    """The body and, after it, the action the recipient's agency does first."""
    if not action:
        return body
    sep = "\n" if "\n" in body else " "  # a grouped message: a line of its own
    return f"{body}{sep}{'Do' if language == 'en' else '조치'}: {action}"


def render_message(
    kind: TemplateKind,
    language: Language,
    records: Sequence[AlertRecord],
    link: str | None = None,
    action: str | None = None,
) -> RenderedMessage:
    """The text of one notification; several records make a grouped message. `action`
    (the first playbook action for the recipient's agency, 경계 and up) follows the body
    and is cut first when the text is too long. `link` (the signed acknowledgement link,
    ASCII) ends the text and is never cut: the body is shortened to make room for it."""
    if not records:
        raise ValueError("nothing to render")
    if len(records) > 1 or kind is TemplateKind.GROUPED:
        subject_text, body = _grouped(records, language)
        kind = TemplateKind.GROUPED
    else:
        r = records[0]
        body = f"{_SINGLE[kind](r, language)} #{r.alert_id}"
        subject_text = body.split("]", 1)[0] + "] " + _area(r, language)
    if kind in ACTION_KINDS:
        body = _with_action(body, action, language)
    if link and kind in LINKED_KINDS:
        room = LMS_MAX_BYTES - len(link) - 1
        text = f"{truncate_euc_kr(to_euc_kr_safe(body), room)} {link}"
    else:
        text = truncate_euc_kr(to_euc_kr_safe(body), LMS_MAX_BYTES)
    sms = classify_sms(text)
    subject = None
    if sms.kind == "LMS":
        subject = truncate_euc_kr(to_euc_kr_safe(subject_text), LMS_SUBJECT_MAX_BYTES)
    return RenderedMessage(kind, language, text, subject, sms, tuple(r.alert_id for r in records))
