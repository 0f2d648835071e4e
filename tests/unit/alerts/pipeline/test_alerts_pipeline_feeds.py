"""A source silent for many areas at once: one feed alert, not one per area. Pure."""

from __future__ import annotations

import pytest

from alerts.batching import NotificationBatcher
from alerts.pipeline import AlertPath
from alerts.pipeline.decide import Change
from alerts.pipeline.feeds import FeedOutages, feed_subject
from alerts.recipients import MessageRateLimiter
from alerts.rules import AlertEngine, AreaInfo, Fire, OpenAlert, Reading, Resolve, RuleKind
from citypulse.domain.area_state import AreaState, SourceContribution
from citypulse.domain.stages import Stage
from tests.unit.alerts.alerts_factories import T0, at, make_state

CODES = [f"POI{i:03d}" for i in range(1, 13)]
AREAS = {c: AreaInfo(c, c, c, "중구") for c in CODES}


def gap(code: str, kind: str = "fire", t_s: float = 0) -> Change:
    subject = AlertEngine(areas=AREAS)._key_state(code, code, None).subject
    fields = dict(
        dedup_key=f"{code}:data_gap", rule=RuleKind.DATA_GAP, subject=subject,
        severity=Stage.CAUTION, reading=Reading(as_of=at(t_s), density_per_m2=0.5, people=5.0),
        reason="feed stale", decided_at=at(t_s),
    )  # fmt: skip
    return Fire(**fields) if kind == "fire" else Resolve(**fields)  # type: ignore[arg-type]


def stale(code: str, source: str, t_s: float = 0) -> AreaState:
    s = make_state(t_s, 0.5, area=code, stale=True)
    src = SourceContribution(source=source, people=5.0, weight=1.0, age_s=900, stale=True)  # type: ignore[arg-type]
    return s.model_copy(update={"sources": (src,)})


def names(changes: list[Change]) -> list[str]:
    return [f"{type(d).__name__} {d.dedup_key}" for d in changes]


def watch(**kw: float) -> tuple[FeedOutages, list[str]]:
    released: list[str] = []
    feeds = FeedOutages(min_areas=5, window_s=120, settle_s=600, release=released.append, **kw)  # type: ignore[arg-type]
    return feeds, released


@pytest.mark.parametrize(
    ("silent", "expected_now", "expected_after_window"),
    [
        (1, [], ["Fire POI001:data_gap"]),
        (4, [], [f"Fire POI00{i}:data_gap" for i in range(1, 5)]),
        (5, ["Fire feed.telecom:data_gap"], []),
        (12, ["Fire feed.telecom:data_gap"], []),  # the 6th to 12th are absorbed
    ],
)
def test_many_silent_areas_make_one_feed_alert(
    silent: int, expected_now: list[str], expected_after_window: list[str]
) -> None:
    feeds, _ = watch()
    out: list[Change] = []
    for code in CODES[:silent]:
        feeds.observe(stale(code, "telecom"))
        out += feeds([gap(code)], at(0))
    assert names(out) == expected_now
    assert names(feeds([], at(121))) == expected_after_window


def test_a_source_silent_since_the_start_is_named_though_never_listed() -> None:
    # The areas' zone counters report; Seoul's telecom feed never has, so the states list
    # no telecom input at all and name it in `silent_sources`.
    feeds, _ = watch()
    out: list[Change] = []
    for code in CODES[:5]:
        s = make_state(0, 0.5, area=code, stale=True)
        zone = SourceContribution(source="zone_counter", people=5.0, weight=1.0, age_s=30)
        feeds.observe(s.model_copy(update={"sources": (zone,), "silent_sources": ("telecom",)}))
        out += feeds([gap(code)], at(0))
    assert names(out) == ["Fire feed.telecom:data_gap"]
    assert out[0].subject.name_ko.startswith("통신사 인구 피드")


def test_the_feed_alert_resolves_when_its_last_area_is_back() -> None:
    feeds, released = watch()
    for code in CODES[:6]:
        feeds.observe(stale(code, "telecom"))
        feeds([gap(code)], at(0))
    back = [names(feeds([gap(code, "resolve", 600)], at(600))) for code in CODES[:6]]
    assert back == [[], [], [], [], [], ["Resolve feed.telecom:data_gap"]]
    assert released == ["feed.telecom:data_gap"]


def test_sources_are_counted_apart() -> None:
    feeds, _ = watch()
    out: list[Change] = []
    for i, code in enumerate(CODES[:8]):
        feeds.observe(stale(code, "telecom" if i % 2 else "zone_counter"))
        out += feeds([gap(code)], at(0))
    assert out == []  # four and four: neither source reached five
    assert len(feeds([], at(121))) == 8  # each area's own alert after all


def test_an_area_whose_feed_came_back_counts_as_silent_on_the_stream() -> None:
    feeds, _ = watch()
    for code in CODES[:4]:
        feeds.observe(stale(code, "telecom"))
        feeds([gap(code)], at(0))
    feeds.observe(stale(CODES[4], "telecom"))
    feeds.observe(make_state(1, 0.5, area=CODES[4]))  # fresh again: its telecom is back
    assert feeds([gap(CODES[4])], at(2)) == []  # held under "stream", not a 5th telecom
    due = names(feeds([], at(121)))
    assert len(due) == 5 and not any("feed." in n for n in due)  # each its own alert


def test_an_area_back_within_the_window_never_alerts() -> None:
    feeds, _ = watch()
    feeds([gap("POI001")], at(0))
    assert feeds([gap("POI001", "resolve", 30)], at(30)) == []
    assert feeds([], at(200)) == []


def test_a_restored_feed_alert_with_no_silent_area_settles() -> None:
    feeds, _ = watch()
    subject = feed_subject("telecom", 9)
    feeds.restore(
        [OpenAlert("feed.telecom:data_gap", subject, RuleKind.DATA_GAP, Stage.CAUTION)], T0
    )
    assert feeds([], at(599)) == []
    assert names(feeds([], at(600))) == ["Resolve feed.telecom:data_gap"]


def test_a_restored_feed_alert_absorbs_its_areas_again() -> None:
    feeds, _ = watch()
    subject = feed_subject("telecom", 9)
    feeds.restore(
        [OpenAlert("feed.telecom:data_gap", subject, RuleKind.DATA_GAP, Stage.CAUTION)], T0
    )
    feeds.observe(stale("POI001", "telecom", 400))
    assert feeds([gap("POI001", t_s=400)], at(400)) == []
    assert feeds([], at(1200)) == []  # an area is still silent: not settled
    assert names(feeds([gap("POI001", "resolve", 1300)], at(1300))) == [
        "Resolve feed.telecom:data_gap"
    ]


def test_a_refused_feed_alert_gives_its_areas_back_to_the_engine() -> None:
    feeds, released = watch()
    out: list[Change] = []
    for code in CODES[:5]:
        out += feeds([gap(code)], at(0))
    (fire,) = out
    feeds.rolled_back(fire)
    assert sorted(released) == [f"{c}:data_gap" for c in CODES[:5]]


def test_a_feed_alert_resolved_by_hand_lets_its_areas_decide_again() -> None:
    feeds, released = watch()
    for code in CODES[:5]:
        feeds([gap(code)], at(0))
    feeds.released("feed.stream:data_gap")
    assert sorted(released) == [f"{c}:data_gap" for c in CODES[:5]]
    # A source still silent forms a new feed alert rather than joining the closed one.
    out = [d for code in CODES[:5] for d in feeds([gap(code, t_s=400)], at(400))]
    assert names(out) == ["Fire feed.stream:data_gap"]


def test_on_the_path_a_whole_feed_going_silent_is_one_alert() -> None:
    path = AlertPath(AlertEngine(areas=AREAS), NotificationBatcher(), MessageRateLimiter())
    out: list[Change] = []
    for code in CODES:
        out += path.on_state(make_state(0, 0.5, area=code, seq=1), at(0))
    for code in CODES:
        out += path.on_state(stale(code, "telecom", 60).model_copy(update={"seq": 2}), at(60))
    out += path.on_sweep(at(300))
    assert names(out) == ["Fire feed.telecom:data_gap"]
    (fire,) = out
    assert fire.subject.name_ko == "통신사 인구 피드 5곳 이상"
    assert fire.subject.district == ""
    assert fire.decided_at == at(60)
