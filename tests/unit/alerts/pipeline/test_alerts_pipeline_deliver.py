"""The delivering stages: group, fan out, rate limit, render. Pure, table-tested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.batching import NotificationBatcher
from alerts.lifecycle import Notification, TemplateKind, open_alert
from alerts.pipeline.deliver import Addressed, Group, RateLimit, fan_out, render
from alerts.recipients import MessageRateLimiter, Recipient, RecipientDirectory
from alerts.rules import AlertSubject, Fire, Reading, RuleKind
from citypulse.domain.stages import Stage

T0 = datetime(2022, 12, 31, 12, 5, tzinfo=UTC)
YONGSAN = AlertSubject("POI072", "POI072", None, "용산구", "이태원 관광특구", "Itaewon")
DIRECTORY = RecipientDirectory(
    (
        Recipient("1", "용산 관제", "010-1111-0001", 1, districts=frozenset({"용산구"})),
        Recipient("2", "city room", "010-1111-0002", 2, "en"),
        Recipient("8", "on-call engineer", "010-1111-0008", 1, "en", role="technical"),
        Recipient("9", "platform lead", "010-1111-0009", 2, role="technical"),
    )
)
SEVERITY = {"주의": Stage.CAUTION, "경계": Stage.ALERT, "심각": Stage.SERIOUS}


def note(
    severity: Stage, tiers: set[int], alert_id: str, rule: RuleKind = RuleKind.STAGE
) -> Notification:
    fire = Fire(
        dedup_key=f"{YONGSAN.key}:{rule.value}", rule=rule, subject=YONGSAN, severity=severity,
        reading=Reading(as_of=T0, density_per_m2=3.4, people=12_345.0), reason="r", decided_at=T0,
    )  # fmt: skip
    return Notification(
        alert_id, TemplateKind.FIRE, frozenset(tiers), open_alert(fire, alert_id, T0).record
    )


def who(addressed: list[Addressed]) -> list[tuple[str, str]]:
    return sorted((a.recipient.recipient_id, a.budget) for a in addressed)


@pytest.mark.parametrize(
    ("rule", "tiers", "expected"),
    [
        (RuleKind.STAGE, {1}, [("1", "crowd")]),
        (RuleKind.STAGE, {1, 2}, [("1", "crowd"), ("2", "crowd")]),
        (RuleKind.DATA_GAP, {1}, [("8", "technical")]),  # never the district's control room
        (RuleKind.DATA_GAP, {1, 2}, [("8", "technical"), ("9", "technical")]),
    ],
)
def test_fan_out_sends_feed_alerts_to_the_technical_group_only(
    rule: RuleKind, tiers: set[int], expected: list[tuple[str, str]]
) -> None:
    assert who(fan_out([note(Stage.CAUTION, tiers, "A1", rule)], DIRECTORY)) == expected


def test_without_an_on_call_group_a_feed_alert_texts_nobody() -> None:
    crowd_only = RecipientDirectory(DIRECTORY.recipients[:2])
    assert fan_out([note(Stage.CAUTION, {1, 2}, "A1", RuleKind.DATA_GAP)], crowd_only) == []


@pytest.mark.parametrize(
    ("sent", "admitted"),
    [
        # One message per hour allowed; what goes after the first?
        (["주의", "주의"], [True, False]),
        (["주의", "경계"], [True, True]),  # 경계 after 주의: worse news goes
        (["경계", "주의"], [True, False]),
        (["경계", "경계"], [True, False]),
        (["주의", "경계", "경계"], [True, True, False]),
        (["경계", "심각", "심각"], [True, True, True]),  # 심각 always goes
        (["심각", "경계"], [True, False]),
    ],
)
def test_the_rate_limit_never_drops_worse_news(sent: list[str], admitted: list[bool]) -> None:
    limit = RateLimit(MessageRateLimiter(max_messages=1, window_s=3600))
    got = []
    for i, stage in enumerate(sent):
        (a,) = limit(fan_out([note(SEVERITY[stage], {1}, f"A{i}")], DIRECTORY), T0)
        got.append(not a.limited)
    assert got == admitted


def test_feed_alerts_do_not_use_up_a_recipients_crowd_budget() -> None:
    limiter = MessageRateLimiter(max_messages=1, window_s=3600)
    limit = RateLimit(limiter)
    for i in range(10):
        gaps = limit(fan_out([note(Stage.CAUTION, {1}, f"G{i}", RuleKind.DATA_GAP)], DIRECTORY), T0)
        assert [a.limited for a in gaps] == [i > 0]  # the on-call budget fills up
    (crowd,) = limit(fan_out([note(Stage.CAUTION, {1}, "A1")], DIRECTORY), T0)
    assert (crowd.recipient.recipient_id, crowd.limited) == ("1", False)


def test_the_rate_limit_window_slides() -> None:
    limit = RateLimit(MessageRateLimiter(max_messages=1, window_s=600))
    first = limit(fan_out([note(Stage.CAUTION, {1}, "A1")], DIRECTORY), T0)
    soon = limit(fan_out([note(Stage.CAUTION, {1}, "A2")], DIRECTORY), T0 + timedelta(seconds=599))
    later = limit(fan_out([note(Stage.CAUTION, {1}, "A3")], DIRECTORY), T0 + timedelta(seconds=601))
    assert [a.limited for a in first + soon + later] == [False, True, False]


def test_render_texts_only_what_the_limit_let_through() -> None:
    addressed = fan_out([note(Stage.ALERT, {1, 2}, "A1")], DIRECTORY)
    limited = [addressed[0], Addressed(addressed[1].recipient, "crowd", addressed[1].notes, True)]
    out = render(limited, T0)
    assert out[0].message is not None and out[0].message.text.startswith("[인파경계]")
    assert out[1].message is None and out[1].limited


def test_a_technical_fire_neither_waits_nor_takes_the_districts_leading_edge() -> None:
    group = Group(NotificationBatcher(window_s=120))
    assert group.send_now(note(Stage.CAUTION, {1}, "G1", RuleKind.DATA_GAP), T0)
    later = T0 + timedelta(seconds=30)
    assert group.send_now(note(Stage.CAUTION, {1}, "A1"), later)  # still the first crowd FIRE
    assert not group.send_now(note(Stage.CAUTION, {1}, "A2"), later)  # this one waits


@pytest.mark.parametrize(("fields", "error"), [({"role": "ops"}, "role"), ({"tier": 4}, "tier")])
def test_a_recipient_with_an_unknown_role_or_tier_is_refused(
    fields: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        Recipient("1", "x", "010-1111-0001", **fields)
