"""Fan-out of notifications to recipients, and when a FIRE waits for its district. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.batching import NotificationBatcher
from alerts.fanout import plan_sms
from alerts.lifecycle import Notification, TemplateKind, open_alert
from alerts.recipients import MessageRateLimiter, Recipient, RecipientDirectory
from alerts.rules import AlertSubject, Fire, Reading, RuleKind
from citypulse.domain.stages import Stage

T0 = datetime(2022, 12, 31, 12, 5, tzinfo=UTC)
YONGSAN = AlertSubject("POI072", "POI072", None, "용산구", "이태원 관광특구", "Itaewon")
JUNG = AlertSubject("POI099", "POI099", None, "중구", "서울광장", "Seoul Plaza")
DIRECTORY = RecipientDirectory(
    (
        Recipient("1", "용산 관제", "010-1111-0001", 1, "ko", districts=frozenset({"용산구"})),
        Recipient("2", "city", "010-1111-0002", 2, "en"),
        Recipient("3", "중구 관제", "010-1111-0003", 1, "ko", districts=frozenset({"중구"})),
        Recipient("4", "event staff", "010-1111-0004", 3, "ko", groups=frozenset({"festival"})),
    )
)


def note(
    subject: AlertSubject,
    severity: Stage,
    tiers: set[int],
    alert_id: str,
    groups: tuple[str, ...] = (),
) -> Notification:
    reading = Reading(as_of=T0, density_per_m2=3.4, people=12_345.0)
    fire = Fire(
        dedup_key=f"{subject.key}:stage", rule=RuleKind.STAGE, subject=subject, severity=severity,
        reading=reading, reason="r", decided_at=T0, extra_groups=groups,
    )  # fmt: skip
    record = open_alert(fire, alert_id, T0).record
    return Notification(alert_id, TemplateKind.FIRE, frozenset(tiers), record)


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        ([], []),
        ([note(YONGSAN, Stage.ALERT, {1}, "A1")], [("1", "SMS", ("A1",))]),
        ([note(YONGSAN, Stage.ALERT, {1, 2}, "A1")],
         [("1", "SMS", ("A1",)), ("2", "SMS", ("A1",))]),
        ([note(JUNG, Stage.ALERT, {1}, "A1", ("festival",))],  # event-day staff by group
         [("3", "SMS", ("A1",)), ("4", "SMS", ("A1",))]),
        # Two alerts in one batch: a recipient subscribed to both gets one grouped LMS.
        ([note(YONGSAN, Stage.CAUTION, {1, 2}, "A1"), note(JUNG, Stage.CAUTION, {1, 2}, "A2")],
         [("1", "SMS", ("A1",)), ("2", "LMS", ("A1", "A2")), ("3", "SMS", ("A2",))]),
    ],
)  # fmt: skip
def test_plan_sms_one_message_per_recipient(
    batch: list[Notification], expected: list[tuple[str, str, tuple[str, ...]]]
) -> None:
    plan = plan_sms(batch, DIRECTORY, MessageRateLimiter(), T0)
    got = [(m.recipient.recipient_id, m.message.sms.kind, m.alert_ids) for m in plan.messages]
    assert sorted(got) == sorted(expected)
    assert plan.rate_limited == ()


def test_plan_sms_language_and_rate_limit() -> None:
    limiter = MessageRateLimiter(max_messages=1, window_s=3600)
    first = plan_sms([note(YONGSAN, Stage.ALERT, {2}, "A1")], DIRECTORY, limiter, T0)
    assert first.messages[0].message.text.startswith("[Crowd ALERT(경계)] Itaewon")  # en
    held = plan_sms([note(YONGSAN, Stage.ALERT, {2}, "A2")], DIRECTORY, limiter, T0)
    assert (held.messages, [(r.recipient_id, ids) for r, ids in held.rate_limited]) == (
        (), [("2", ("A2",))],
    )  # fmt: skip
    serious = plan_sms([note(YONGSAN, Stage.SERIOUS, {2}, "A3")], DIRECTORY, limiter, T0)
    assert [m.alert_ids for m in serious.messages] == [("A3",)]  # 심각 always goes through


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # (seconds, district, severity) -> send_now?
        ([(0, "용산구", Stage.CAUTION)], [True]),
        ([(0, "용산구", Stage.CAUTION), (30, "용산구", Stage.ALERT)], [True, False]),
        ([(0, "용산구", Stage.CAUTION), (30, "중구", Stage.ALERT)], [True, True]),
        ([(0, "용산구", Stage.CAUTION), (30, "용산구", Stage.SERIOUS)], [True, True]),
        ([(0, "용산구", Stage.CAUTION), (120, "용산구", Stage.CAUTION)], [True, True]),
    ],
)
def test_first_alert_of_a_district_goes_at_once(
    steps: list[tuple[int, str, Stage]], expected: list[bool]
) -> None:
    b = NotificationBatcher(window_s=120)
    assert [b.send_now(d, s, T0 + timedelta(seconds=t)) for t, d, s in steps] == expected


def test_waiting_fires_leave_together_when_the_window_passes() -> None:
    b = NotificationBatcher(window_s=120, max_batch=3)
    assert b.send_now("용산구", Stage.CAUTION, T0)
    assert b.add(11, "용산구", Stage.CAUTION, T0 + timedelta(seconds=10)) == []
    assert b.add(12, "용산구", Stage.ALERT, T0 + timedelta(seconds=20)) == []
    assert b.due(T0 + timedelta(seconds=100)) == []
    assert b.due(T0 + timedelta(seconds=130)) == [[11, 12]]
    assert b.pending() == 0
    restored = NotificationBatcher(window_s=120, max_batch=2)
    assert restored.restore([(1, "중구", Stage.CAUTION, T0), (2, "중구", Stage.ALERT, T0)]) == [
        [1, 2]
    ]
    assert not restored.send_now("중구", Stage.CAUTION, T0 + timedelta(seconds=5))
