"""The deciding stages and the whole path, pure: AreaStates in, messages planned out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.batching import NotificationBatcher
from alerts.lifecycle import open_alert
from alerts.pipeline import STAGE_NAMES, AlertPath
from alerts.pipeline.decide import Change, StartupGrace
from alerts.recipients import MessageRateLimiter, Recipient, RecipientDirectory
from alerts.rules import (
    AlertEngine,
    AlertPolicy,
    AreaInfo,
    Fire,
    Reading,
    Resolve,
    RuleKind,
    Silence,
)
from alerts.rules.config import RuleSet, StageRule
from citypulse.domain.stages import Stage
from tests.unit.alerts.alerts_factories import T0, at, make_state

AREAS = {"POI009": AreaInfo("POI009", "홍대입구역", "Hongdae", "마포구")}
SUBJECT = AlertEngine(areas=AREAS)._key_state("POI009", "POI009", None).subject
READING = Reading(as_of=T0, density_per_m2=1.0, people=10.0)


def change(kind: str, rule: RuleKind) -> Change:
    key = f"POI009:{rule.value}"
    if kind == "fire":
        return Fire(dedup_key=key, rule=rule, subject=SUBJECT, severity=Stage.CAUTION,
                    reading=READING, reason="r", decided_at=T0)  # fmt: skip
    return Resolve(dedup_key=key, rule=rule, subject=SUBJECT, severity=Stage.CAUTION,
                   reading=READING, reason="r", decided_at=T0)  # fmt: skip


@pytest.mark.parametrize(
    ("after_s", "kind", "rule", "kept"),
    [
        (10, "fire", RuleKind.DATA_GAP, False),  # first states still arriving
        (299, "fire", RuleKind.DATA_GAP, False),
        (300, "fire", RuleKind.DATA_GAP, True),
        (10, "fire", RuleKind.STAGE, True),  # a real crowd never waits
        (10, "resolve", RuleKind.DATA_GAP, True),  # an alert open before the restart closes
    ],
)
def test_startup_grace_holds_back_only_new_data_gaps(
    after_s: float, kind: str, rule: RuleKind, kept: bool
) -> None:
    released: list[str] = []
    grace = StartupGrace(300, released.append)
    grace.start(T0)
    d = change(kind, rule)
    assert grace([d], T0 + timedelta(seconds=after_s)) == ([d] if kept else [])
    assert released == ([] if kept else [d.dedup_key])


def test_startup_grace_does_nothing_before_start() -> None:
    d = change("fire", RuleKind.DATA_GAP)
    assert StartupGrace(300, lambda _k: None)([d], T0) == [d]


def _path(**kw: float) -> AlertPath:
    policy = AlertPolicy(defaults=RuleSet(stage=StageRule(hold_s=0)))
    engine = AlertEngine(policy, AREAS)
    return AlertPath(engine, NotificationBatcher(), MessageRateLimiter(), **kw)  # type: ignore[arg-type]


def _names(changes: list[Change]) -> list[str]:
    return [f"{type(d).__name__} {d.dedup_key}" for d in changes]


def test_a_stale_feed_at_start_up_raises_its_gap_only_after_the_grace() -> None:
    path = _path(startup_grace_s=300, feed_window_s=120)
    path.start([], T0)
    assert path.on_state(make_state(0, 1.0, stale=True), at(0)) == []
    assert path.on_state(make_state(60, 1.0, stale=True), at(60)) == []
    # After the grace the gap is decided, then waits out the feed-outage window: one
    # silent area is its own alert, many are one feed alert (test_alerts_pipeline_feeds).
    assert path.on_state(make_state(310, 1.0, stale=True), at(310)) == []
    assert _names(path.on_sweep(at(430))) == ["Fire POI009:data_gap"]


def test_a_crowd_right_after_start_up_alerts_at_once() -> None:
    path = _path(startup_grace_s=300)
    path.start([], T0)
    assert _names(path.on_state(make_state(0, 2.6), at(0))) == ["Fire POI009:stage"]


def test_a_silence_mutes_on_the_path() -> None:
    path = _path()
    path.engine.replace_silences(
        [Silence("7", at(-60), at(3600), "박팀장", "parade", districts=frozenset({"마포구"}))]
    )
    (d,) = path.on_state(make_state(0, 2.6), at(0))
    assert isinstance(d, Fire) and d.muted is not None and d.muted.by == "7"


def test_the_whole_path_from_a_state_to_a_planned_message() -> None:
    path = _path()
    directory = RecipientDirectory(
        (
            Recipient("1", "마포 관제", "010-1111-0001", 1, districts=frozenset({"마포구"})),
            Recipient("8", "on-call", "010-1111-0008", 1, role="technical"),
        )
    )
    (fire,) = path.on_state(make_state(0, 2.6), at(0))
    assert isinstance(fire, Fire)
    tr = open_alert(fire, "A1", at(0))
    (n,) = tr.notifications
    assert path.group.send_now(n, at(0))
    (msg,) = path.deliver([n], directory, at(0))
    assert msg.recipient.recipient_id == "1" and msg.message is not None
    assert "홍대입구역" in msg.message.text


def test_the_path_lists_its_stages_in_the_order_they_run() -> None:
    path = _path()
    decision = [type(s).__name__ for s in path.decision_stages]
    assert decision == ["StartupGrace", "FeedOutages", "SilenceInhibit"]
    assert STAGE_NAMES[1:4] == ("startup grace", "feed outage", "silence/inhibit")
    assert [getattr(s, "__name__", type(s).__name__) for s in path.delivery_stages] == [
        "QuietHours", "RateLimit", "Render",
    ]  # fmt: skip
    assert STAGE_NAMES[7:10] == ("quiet hours", "rate limit", "render")
