"""Quiet hours: the window in KST (wrapping midnight), and the stage that keeps crowd
messages below 심각 from a recipient inside it. Pure, table-tested."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from alerts.fanout import plan_sms
from alerts.lifecycle import Notification, TemplateKind, open_alert
from alerts.pipeline.deliver import QuietHours, RateLimit, fan_out, render
from alerts.pipeline.outbox import outbox_entries
from alerts.recipients import (
    MessageRateLimiter,
    Recipient,
    RecipientDirectory,
    Role,
    in_quiet_hours,
)
from alerts.rules import AlertSubject, Fire, Reading, RuleKind
from citypulse.domain.stages import Stage


def kst(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """2022-12-31 hh:mm KST, given as UTC (the pipeline's clock)."""
    return datetime(2022, 12, 31, hh, mm, ss, tzinfo=timezone(timedelta(hours=9))).astimezone(UTC)


def who(quiet: tuple[time, time] | None, role: Role = "crowd", rid: str = "1") -> Recipient:
    return Recipient(rid, "야간 관제", f"010-2222-000{rid}", 1, role=role, quiet_hours=quiet)


NIGHT = (time(22, 0), time(7, 0))  # wraps midnight
LUNCH = (time(12, 0), time(13, 30))


@pytest.mark.parametrize(
    ("quiet", "now", "inside"),
    [
        (None, kst(3), False),  # no quiet hours
        (NIGHT, kst(21, 59, 59), False),
        (NIGHT, kst(22), True),  # from is inside
        (NIGHT, kst(23, 30), True),
        (NIGHT, kst(0), True),  # midnight
        (NIGHT, kst(6, 59, 59), True),
        (NIGHT, kst(7), False),  # until is outside
        (NIGHT, kst(12), False),
        (LUNCH, kst(11, 59), False),
        (LUNCH, kst(12), True),
        (LUNCH, kst(13, 29), True),
        (LUNCH, kst(13, 30), False),
        (LUNCH, kst(0), False),
        ((time(9), time(9)), kst(9), False),  # from == until: an empty window
        # 23:00 UTC is 08:00 KST next day: read in KST, not UTC.
        (NIGHT, datetime(2022, 12, 31, 23, 0, tzinfo=UTC), False),
        (NIGHT, datetime(2022, 12, 31, 14, 0, tzinfo=UTC), True),  # 23:00 KST
        # Any aware zone means the same instant: 17:00 at UTC-5 is 07:00 KST.
        (NIGHT, datetime(2022, 12, 31, 17, 0, tzinfo=timezone(timedelta(hours=-5))), False),
        (NIGHT, datetime(2022, 12, 31, 16, 59, tzinfo=timezone(timedelta(hours=-5))), True),
    ],
)
def test_in_quiet_hours(quiet: tuple[time, time] | None, now: datetime, inside: bool) -> None:
    assert in_quiet_hours(who(quiet), now) is inside


def test_in_quiet_hours_refuses_a_naive_clock() -> None:
    with pytest.raises(ValueError, match="aware"):
        in_quiet_hours(who(NIGHT), datetime(2022, 12, 31, 23, 0))


SUBJECT = AlertSubject("POI072", "POI072", None, "용산구", "이태원 관광특구", "Itaewon")


def note(severity: Stage, alert_id: str, rule: RuleKind = RuleKind.STAGE) -> Notification:
    t0 = kst(2)
    fire = Fire(
        dedup_key=f"{SUBJECT.key}:{rule.value}", rule=rule, subject=SUBJECT, severity=severity,
        reading=Reading(as_of=t0, density_per_m2=3.4, people=12_345.0), reason="r", decided_at=t0,
    )  # fmt: skip
    return Notification(
        alert_id, TemplateKind.FIRE, frozenset({1}), open_alert(fire, alert_id, t0).record
    )


@pytest.mark.parametrize(
    ("severity", "rule", "now", "quiet"),
    [
        (Stage.ATTENTION, RuleKind.STAGE, kst(2), True),
        (Stage.CAUTION, RuleKind.STAGE, kst(2), True),
        (Stage.ALERT, RuleKind.STAGE, kst(2), True),
        (Stage.SERIOUS, RuleKind.STAGE, kst(2), False),  # 심각 always goes
        (Stage.ALERT, RuleKind.STAGE, kst(9), False),  # outside the window
        (Stage.ALERT, RuleKind.FORECAST, kst(23), True),
    ],
)
def test_the_stage_holds_crowd_messages_below_serious(
    severity: Stage, rule: RuleKind, now: datetime, quiet: bool
) -> None:
    directory = RecipientDirectory((who(NIGHT),))
    (a,) = QuietHours()(fan_out([note(severity, "A1", rule)], directory), now)
    assert a.quiet is quiet


def test_technical_messages_ignore_quiet_hours() -> None:
    directory = RecipientDirectory((who(NIGHT, role="technical"),))
    (a,) = QuietHours()(fan_out([note(Stage.CAUTION, "G1", RuleKind.DATA_GAP)], directory), kst(3))
    assert a.budget == "technical" and not a.quiet


def test_a_skipped_message_is_audited_uses_no_budget_and_is_not_texted() -> None:
    night, day = who(NIGHT, rid="1"), who(None, rid="2")
    directory = RecipientDirectory((night, day))
    limiter = MessageRateLimiter(max_messages=1, window_s=3600)
    plan = plan_sms([note(Stage.CAUTION, "A1")], directory, limiter, kst(3))
    assert [m.recipient.recipient_id for m in plan.messages] == ["2"]
    assert [(r.recipient_id, ids) for r, ids in plan.quiet_hours] == [("1", ("A1",))]
    assert plan.rate_limited == ()
    # The skipped 주의 did not count: after the window the night recipient still has budget.
    (after,) = RateLimit(limiter)(fan_out([note(Stage.CAUTION, "A2")], directory)[:1], kst(8))
    assert after.recipient.recipient_id == "1" and not after.limited


def test_the_outbox_records_the_skip_naming_the_recipient_with_a_masked_number() -> None:
    directory = RecipientDirectory((who(NIGHT, rid="1"), who(None, rid="2")))
    now = kst(3)
    addressed = fan_out([note(Stage.CAUTION, "A3")], directory)
    for stage in (QuietHours(), RateLimit(MessageRateLimiter()), render):
        addressed = stage(addressed, now)
    rows, audit = outbox_entries(addressed, now)
    assert [r.recipient_id for r in rows] == [2]  # the one outside quiet hours
    assert sorted((e.action, e.detail) for e in audit) == [
        ("sms_queued", "야간 관제 (tier 1, +82******0002)"),
        ("sms_quiet_hours", "야간 관제 (tier 1, +82******0001)"),
    ]


def test_serious_goes_inside_quiet_hours() -> None:
    plan = plan_sms(
        [note(Stage.SERIOUS, "A1")], RecipientDirectory((who(NIGHT),)), MessageRateLimiter(), kst(3)
    )
    assert [m.recipient.recipient_id for m in plan.messages] == ["1"] and plan.quiet_hours == ()
