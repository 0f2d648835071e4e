"""Lifecycle: transitions, audit, reminders and the tier chain, all in pure time."""

from __future__ import annotations

import pytest
from alerts_factories import at

from alerts.lifecycle import (
    SYSTEM,
    AlertRecord,
    AlertStatus,
    EscalationPolicy,
    InvalidTransition,
    TemplateKind,
    acknowledge,
    apply_decision,
    comment,
    open_alert,
    resolve,
    tick,
    unmute,
)
from alerts.rules import (
    AlertSubject,
    Deescalate,
    Escalate,
    Fire,
    Mute,
    Reading,
    Resolve,
    RuleKind,
)
from citypulse.domain.stages import Stage

C, A, S = Stage.CAUTION, Stage.ALERT, Stage.SERIOUS
SUBJECT = AlertSubject("POI072", "POI072", None, "용산구", "이태원 관광특구", "Itaewon")
READING = Reading(as_of=at(0), density_per_m2=3.4, people=12_300.0, trend_per_min=0.12)


def fire(severity: Stage = A, muted: Mute | None = None) -> Fire:
    return Fire(
        dedup_key="POI072:stage", rule=RuleKind.STAGE, subject=SUBJECT, severity=severity,
        reading=READING, reason="density 3.4/m²", decided_at=at(0), muted=muted,
    )  # fmt: skip


def opened(severity: Stage = A, muted: Mute | None = None) -> AlertRecord:
    return open_alert(fire(severity, muted), "A1", at(0)).record


@pytest.mark.parametrize(
    ("severity", "muted", "tiers"),
    [
        (C, None, {1}),  # 주의: district CCTV centre
        (A, None, {1}),  # 경계: district, staff go on site
        (S, None, {1, 2, 3}),  # 심각: city, fire and police at once
        (S, Mute("silence", "S1", "kim: 불꽃축제"), set()),
    ],
)
def test_open_notifies_first_tiers(severity: Stage, muted: Mute | None, tiers: set[int]) -> None:
    tr = open_alert(fire(severity, muted), "A1", at(0))
    assert tr.record.status is AlertStatus.OPEN
    assert tr.record.tier == max(tiers, default=0)
    assert [set(n.tiers) for n in tr.notifications] == ([tiers] if tiers else [])
    assert all(n.kind is TemplateKind.FIRE for n in tr.notifications)
    (entry,) = tr.audit
    assert (entry.who, entry.action, entry.at) == (SYSTEM, "opened", at(0))


# (minutes since open, expected action or None, tiers notified) for an unacknowledged
# 경계 with the defaults: reminder every 5 min, next tier after 10 min unacknowledged.
ALERT_TIMELINE = [
    (4.9, None, set()),
    (5, "reminded", {1}),
    (9.9, None, set()),
    (10, "tier_escalated", {2}),  # 서울시 재난안전상황실
    (15, "reminded", {1, 2}),
    (20, "tier_escalated", {3}),  # 119 and 112
    (25, "reminded", {1, 2, 3}),
    (30, "reminded", {1, 2, 3}),  # ceiling reached: only reminders
]


def test_unacknowledged_alert_climbs_the_chain() -> None:
    rec = opened(A)
    for minute, action, tiers in ALERT_TIMELINE:
        tr = tick(rec, at(minute * 60))
        assert [e.action for e in tr.audit] == ([action] if action else [])
        assert [set(n.tiers) for n in tr.notifications] == ([tiers] if tiers else [])
        rec = tr.record
    assert rec.tier == 3 and rec.reminders_sent == 4


@pytest.mark.parametrize(
    ("severity", "minutes", "final_tier"),
    [(C, 60, 2), (A, 60, 3), (S, 60, 3)],  # 주의 never calls 119/112 by itself
)
def test_tier_ceiling_by_severity(severity: Stage, minutes: int, final_tier: int) -> None:
    rec = opened(severity)
    for m in range(1, minutes + 1):
        rec = tick(rec, at(m * 60)).record
    assert rec.tier == final_tier


def test_reminders_stop_after_max_and_on_acknowledge() -> None:
    policy = EscalationPolicy(reminder_s=60, tier_timeout_s=10_000, max_reminders=2)
    rec = open_alert(fire(C), "A1", at(0), policy).record
    kinds = []
    for m in range(1, 6):
        tr = tick(rec, at(m * 60), policy)
        kinds += [n.kind for n in tr.notifications]
        rec = tr.record
    assert kinds == [TemplateKind.REMINDER, TemplateKind.REMINDER]
    acked = acknowledge(opened(C), "lee.yongsan", at(30)).record
    assert tick(acked, at(3600)).notifications == ()


def test_acknowledge_resolve_comment_audit() -> None:
    rec = opened(A)
    ack = acknowledge(rec, "lee.yongsan", at(60), note="CCTV 확인 중")
    assert ack.record.status is AlertStatus.ACKNOWLEDGED
    assert (ack.record.acknowledged_by, ack.record.acknowledged_at) == ("lee.yongsan", at(60))
    assert acknowledge(ack.record, "park", at(61)).audit == ()  # idempotent
    com = comment(ack.record, "lee.yongsan", "현장 인력 2명 파견", at(90))
    res = resolve(com.record, "lee.yongsan", "통제선 설치, 밀집 해소", at(600))
    assert res.record.status is AlertStatus.RESOLVED
    assert [(e.who, e.action, e.why) for e in (*ack.audit, *com.audit, *res.audit)] == [
        ("lee.yongsan", "acknowledged", "CCTV 확인 중"),
        ("lee.yongsan", "commented", None),
        ("lee.yongsan", "resolved", "통제선 설치, 밀집 해소"),
    ]
    (note,) = res.notifications
    assert note.kind is TemplateKind.RESOLVED and note.tiers == {1}


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (lambda r: acknowledge(r, "kim", at(1)), InvalidTransition),
        (lambda r: resolve(r, "kim", "done", at(1)), InvalidTransition),
        (lambda r: apply_decision(r, fire(), at(1), new_alert_id="A2"), None),
    ],
)
def test_closed_alert_refuses_changes(action: object, error: type[Exception] | None) -> None:
    closed = resolve(opened(A), "kim", "false alarm: camera angle", at(0)).record
    if error is None:
        tr = action(closed)  # type: ignore[operator]
        assert tr.record.alert_id == "A2"  # a new alert, not a reopened one
    else:
        with pytest.raises(error):
            action(closed)  # type: ignore[operator]


@pytest.mark.parametrize(
    "bad",
    [
        lambda r: acknowledge(r, " ", at(1)),
        lambda r: resolve(r, "kim", "  ", at(1)),
        lambda r: comment(r, "kim", "", at(1)),
        lambda r: apply_decision(r, fire(), at(1), new_alert_id="A2"),  # already open
    ],
)
def test_invalid_inputs(bad: object) -> None:
    with pytest.raises(ValueError):
        bad(opened(A))  # type: ignore[operator]


def change(
    kind: type[Escalate] | type[Deescalate], prev: Stage, new: Stage
) -> Escalate | Deescalate:
    return kind(
        dedup_key="POI072:stage", rule=RuleKind.STAGE, subject=SUBJECT, severity=new,
        previous=prev, reading=READING, reason="r", decided_at=at(0),
    )  # fmt: skip


def test_escalation_to_serious_reopens_and_reaches_every_tier() -> None:
    acked = acknowledge(opened(A), "lee", at(60)).record
    tr = apply_decision(acked, change(Escalate, A, S), at(120))
    assert tr is not None
    assert tr.record.status is AlertStatus.OPEN and tr.record.acknowledged_by is None
    assert (tr.record.severity, tr.record.peak_severity, tr.record.tier) == (S, S, 3)
    assert [e.action for e in tr.audit] == ["escalated", "reopened"]
    assert [(n.kind, set(n.tiers)) for n in tr.notifications] == [
        (TemplateKind.ESCALATE, {1, 2, 3})
    ]
    down = apply_decision(tr.record, change(Deescalate, S, A), at(900))
    assert down is not None
    assert (down.record.severity, down.record.peak_severity, down.record.tier) == (A, S, 3)
    assert [(n.kind, set(n.tiers)) for n in down.notifications] == [
        (TemplateKind.DEESCALATE, {1, 2, 3})
    ]


def test_auto_resolve_tells_everyone_notified_and_muted_stays_quiet() -> None:
    resolve_d = Resolve(
        dedup_key="POI072:stage", rule=RuleKind.STAGE, subject=SUBJECT, severity=A,
        reading=READING, reason="density 1.2/m²: alert -> normal", decided_at=at(0),
    )  # fmt: skip
    rec = tick(tick(opened(A), at(600)).record, at(601)).record  # tier 2 by now
    tr = apply_decision(rec, resolve_d, at(700))
    assert tr is not None and tr.record.status is AlertStatus.AUTO_RESOLVED
    assert tr.record.resolved_by == SYSTEM
    assert [set(n.tiers) for n in tr.notifications] == [{1, 2}]
    muted = opened(A, Mute("inhibition", "POI072/alley:stage", "x"))
    quiet = apply_decision(muted, resolve_d, at(700))
    assert quiet is not None and quiet.notifications == ()
    assert tick(muted, at(3600)).notifications == ()


def test_unmute_texts_the_first_tier() -> None:
    muted = opened(A, Mute("silence", "S1", "kim: 불꽃축제"))
    tr = unmute(muted, at(300))
    assert tr.record.muted is None and tr.record.tier == 1
    assert [(n.kind, set(n.tiers)) for n in tr.notifications] == [(TemplateKind.FIRE, {1})]
    assert tr.audit[0].detail == "was silence S1"
