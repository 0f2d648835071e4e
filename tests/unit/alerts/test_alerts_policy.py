"""Overrides, event-day profiles, silences, inhibition and grouping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alerts_factories import T0, at, make_state

from alerts.rules import (
    AlertEngine,
    AlertEventDay,
    AlertPolicy,
    AreaInfo,
    DistrictGrouper,
    Fire,
    ForecastRule,
    Mute,
    RuleKind,
    RuleOverride,
    RuleSet,
    Silence,
    StageRule,
)
from alerts.settings import AlertSettings
from citypulse.domain.stages import NARROW_ALLEY_THRESHOLDS, Stage, StageThresholds
from citypulse.domain.thresholds import EventDayProfile, ThresholdBook

C, A, S = Stage.CAUTION, Stage.ALERT, Stage.SERIOUS
AREAS = {
    "POI009": AreaInfo("POI009", "광화문·덕수궁", "Gwanghwamun", "종로구"),
    "POI072": AreaInfo("POI072", "이태원 관광특구", "Itaewon", "용산구"),
    "POI073": AreaInfo("POI073", "용산역", "Yongsan Station", "용산구"),
}
ALLEY = RuleOverride("POI072/alley", stage=StageRule(thresholds=NARROW_ALLEY_THRESHOLDS))
FESTIVAL_THRESHOLDS = StageThresholds(attention=1.0, caution=1.5, alert=2.5, serious=4.5)
FESTIVAL = AlertEventDay(
    EventDayProfile(
        name="이태원 지구촌축제", start=at(0), end=at(3600), thresholds=FESTIVAL_THRESHOLDS
    ),
    districts=frozenset({"용산구"}),
    extra_groups=("yongsan-festival-staff",),
)


def fire_after_hold(eng: AlertEngine, density: float, area: str, zone: str | None = None,
                    t0: float = 0) -> list[Fire]:  # fmt: skip
    eng.evaluate(make_state(t0, density, area=area, zone=zone), at(t0))
    out = eng.evaluate(make_state(t0 + 60, density, area=area, zone=zone), at(t0 + 60))
    return [d for d in out if isinstance(d, Fire)]


@pytest.mark.parametrize(
    ("area", "zone", "density", "expected"),
    [
        ("POI072", "alley", 4.2, S),  # narrow alley: above 4/m² is 심각
        ("POI072", None, 4.2, A),  # the area as a whole keeps the defaults
        ("POI072", "plaza", 4.2, A),  # another zone: no override
        ("POI072", "alley", 1.6, C),
        ("POI072", None, 1.6, None),
    ],
)
def test_zone_override(area: str, zone: str | None, density: float, expected: Stage | None) -> None:
    eng = AlertEngine(policy=AlertPolicy.build(overrides=[ALLEY]), areas=AREAS)
    fires = fire_after_hold(eng, density, area, zone)
    assert [f.severity for f in fires] == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    ("area", "t0", "density", "expected", "profile"),
    [
        ("POI072", 0, 4.6, S, "이태원 지구촌축제"),  # 4.5 is 심각 during the festival
        ("POI073", 0, 2.6, A, "이태원 지구촌축제"),  # whole district
        ("POI009", 0, 4.6, A, None),  # other district: defaults
        ("POI072", 3600, 4.6, A, None),  # profile ended (end is exclusive)
        ("POI072", -120, 4.6, A, None),  # before it starts
    ],
)
def test_event_day_profile(
    area: str, t0: float, density: float, expected: Stage, profile: str | None
) -> None:
    eng = AlertEngine(policy=AlertPolicy.build(profiles=[FESTIVAL]), areas=AREAS)
    # Hold measured from t0; the profile applies by the event time of each state.
    (fire,) = fire_after_hold(eng, density, area, t0=t0 - 60 if t0 > 0 else t0)
    assert fire.severity == expected
    assert fire.profile == profile
    assert fire.extra_groups == (("yongsan-festival-staff",) if profile else ())


def test_profile_never_loosens_a_stricter_zone() -> None:
    loose = AlertEventDay(
        EventDayProfile("loose", at(0), at(3600), StageThresholds(2.0, 3.0, 4.0, 6.0)),
        districts=frozenset({"용산구"}),
    )
    policy = AlertPolicy.build(overrides=[ALLEY], profiles=[loose])
    alley = policy.rules_for("POI072", "alley", "용산구", at(10))
    assert alley.stage.thresholds == NARROW_ALLEY_THRESHOLDS and alley.profile == "loose"


def _day(area_codes: frozenset[str] = frozenset(), zones: frozenset[tuple[str, str]] = frozenset(),
         districts: frozenset[str] = frozenset()) -> AlertEventDay:  # fmt: skip
    event = EventDayProfile("d", at(0), at(60), FESTIVAL_THRESHOLDS, area_codes, zones)
    return AlertEventDay(event, districts=districts)


@pytest.mark.parametrize(
    ("day", "area", "zone", "district", "t", "applies"),
    [
        (_day(), "POI009", None, "종로구", 0, True),  # no scope: every area, as in the DB
        (_day(), "POI009", None, "종로구", 60, False),  # end is exclusive
        (_day(frozenset({"POI072"})), "POI072", "alley", "용산구", 0, True),
        (_day(frozenset({"POI072"})), "POI073", None, "용산구", 0, False),
        (_day(districts=frozenset({"용산구"})), "POI073", None, "용산구", 0, True),
        (_day(districts=frozenset({"용산구"})), "POI009", None, "종로구", 0, False),
        # districts add to the area list
        (_day(frozenset({"POI009"}), districts=frozenset({"용산구"})), "POI009", None, "종로구",
         0, True),
        (_day(frozenset({"POI009"}), districts=frozenset({"용산구"})), "POI073", None, "용산구",
         0, True),
        # a zone-only profile leaves the area as a whole and other zones alone
        (_day(zones=frozenset({("POI072", "alley")})), "POI072", "alley", "용산구", 0, True),
        (_day(zones=frozenset({("POI072", "alley")})), "POI072", None, "용산구", 0, False),
        (_day(zones=frozenset({("POI072", "alley")}), districts=frozenset({"용산구"})),
         "POI072", "plaza", "용산구", 0, False),
    ],
)  # fmt: skip
def test_event_day_scope(
    day: AlertEventDay, area: str, zone: str | None, district: str, t: float, applies: bool
) -> None:
    assert day.applies(area, zone, district, at(t)) is applies


def test_event_day_hold_only_shortens() -> None:
    rules = AlertPolicy.build().defaults
    short = AlertEventDay(FESTIVAL.profile, hold_s=10).apply(rules)
    long = AlertEventDay(FESTIVAL.profile, hold_s=600).apply(rules)
    assert (short.stage.hold_s, long.stage.hold_s) == (10, rules.stage.hold_s)


def silence(**kw: object) -> Silence:
    base: dict[str, object] = {
        "silence_id": "S1",
        "starts_at": at(0),
        "ends_at": at(7200),
        "created_by": "kim.ops",
        "reason": "서울세계불꽃축제 planned crowd",
        "districts": frozenset({"용산구"}),
    }
    base.update(kw)
    return Silence(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sil", "area", "rule", "severity", "now_s", "matches"),
    [
        (silence(), "POI072", RuleKind.STAGE, A, 10, True),
        (silence(), "POI072", RuleKind.STAGE, S, 10, False),  # 심각 breaks through
        (silence(max_severity=S), "POI072", RuleKind.STAGE, S, 10, True),
        (silence(), "POI009", RuleKind.STAGE, C, 10, False),  # other district
        (silence(), "POI072", RuleKind.STAGE, C, 7200, False),  # ended (exclusive)
        (silence(), "POI072", RuleKind.STAGE, C, -1, False),  # not yet
        (silence(rules=frozenset({RuleKind.DATA_GAP})), "POI072", RuleKind.STAGE, C, 10, False),
        (silence(rules=frozenset({RuleKind.DATA_GAP})), "POI072", RuleKind.DATA_GAP, C, 10, True),
        (silence(area_codes=frozenset({"POI073"})), "POI072", RuleKind.STAGE, C, 10, False),
        (silence(area_codes=frozenset({"POI073"})), "POI073", RuleKind.STAGE, C, 10, True),
    ],
)
def test_silence_matching(
    sil: Silence, area: str, rule: RuleKind, severity: Stage, now_s: float, matches: bool
) -> None:
    district = AREAS[area].district
    assert sil.matches(area, district, rule, severity, at(now_s)) is matches


@pytest.mark.parametrize(
    "kw",
    [
        {"districts": frozenset()},  # no matcher: would mute the city
        {"ends_at": at(0)},
        {"created_by": " "},
        {"reason": ""},
    ],
)
def test_silence_must_say_where_who_and_why(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        silence(**kw)


def test_engine_marks_silenced_decisions_as_muted() -> None:
    eng = AlertEngine(areas=AREAS, silences=(silence(),))
    (fire,) = fire_after_hold(eng, 3.5, "POI072")
    assert fire.muted == Mute("silence", "S1", "kim.ops: 서울세계불꽃축제 planned crowd")
    # Escalation to 심각 is not silenced by default.
    eng.evaluate(make_state(120, 5.5, area="POI072"), at(120))
    (esc,) = eng.evaluate(make_state(180, 5.5, area="POI072"), at(180))
    assert esc.severity == S and esc.muted is None  # type: ignore[union-attr]


def test_serious_inhibits_lower_alerts_of_the_same_area() -> None:
    eng = AlertEngine(policy=AlertPolicy.build(overrides=[ALLEY]), areas=AREAS)
    (alley,) = fire_after_hold(eng, 4.2, "POI072", "alley")
    assert alley.severity == S and alley.muted is None
    # The area as a whole reaches 경계: muted by the alley's 심각.
    (area_fire,) = fire_after_hold(eng, 3.2, "POI072", t0=120)
    assert area_fire.severity == A
    assert area_fire.muted == Mute(
        "inhibition", "POI072/alley:stage", "POI072/alley:stage is open at a higher stage"
    )
    assert eng.inhibitor_of("POI072:stage") == "POI072/alley:stage"
    # Another area is not affected; 경계 does not inhibit (only 심각 does).
    (other,) = fire_after_hold(eng, 3.2, "POI073", t0=120)
    assert other.muted is None
    (plaza,) = fire_after_hold(eng, 2.5, "POI073", "plaza", t0=240)
    assert plaza.muted is None


def test_forecast_warning_is_inhibited_by_actual_serious_but_data_gap_is_not() -> None:
    # Two alerts per key (the forecast warning not joined to the stage alert): the lower
    # one is muted; joined (the default) it is the stage alert's own: one Fire at 심각.
    joined = AlertEngine(areas=AREAS)
    for t in (0, 60):
        out = joined.evaluate(make_state(t, 5.5, area="POI009", forecast=((10, 6.0),)), at(t))
    assert [(d.rule, d.severity) for d in out if isinstance(d, Fire)] == [(RuleKind.STAGE, S)]
    two = RuleSet(forecast=ForecastRule(one_alert_with_stage=False))
    eng = AlertEngine(areas=AREAS, policy=AlertPolicy(defaults=two))
    for t in (0, 60):
        out = eng.evaluate(make_state(t, 5.5, area="POI009", forecast=((10, 6.0),)), at(t))
    by_rule = {d.rule: d for d in out if isinstance(d, Fire)}
    assert by_rule[RuleKind.STAGE].severity == S
    forecast_mute = by_rule[RuleKind.FORECAST].muted
    assert forecast_mute is not None and forecast_mute.by == "POI009:stage"
    (gap,) = eng.evaluate(make_state(120, 5.5, area="POI009", stale=True), at(120))
    assert isinstance(gap, Fire) and gap.rule is RuleKind.DATA_GAP and gap.muted is None


@pytest.mark.parametrize(
    ("events", "expected_now", "expected_due"),
    [
        # Two 용산구 alerts within 120 s go out together when the window closes.
        ([("a", "용산구", C, 0), ("b", "용산구", A, 30)], [], {119: [], 120: [["a", "b"]]}),
        # Different districts: separate batches, oldest first.
        ([("a", "용산구", C, 0), ("b", "종로구", C, 10)], [], {130: [["a"], ["b"]]}),
        # 심각 goes at once, alone.
        ([("a", "용산구", C, 0), ("s", "용산구", S, 5)], [["s"]], {120: [["a"]]}),
        # A full batch (max 3 here) flushes early.
        ([("a", "용산구", C, 0), ("b", "용산구", C, 1), ("c", "용산구", C, 2)],
         [["a", "b", "c"]], {120: []}),
    ],
)  # fmt: skip
def test_district_grouping(
    events: list[tuple[str, str, Stage, float]],
    expected_now: list[list[str]],
    expected_due: dict[float, list[list[str]]],
) -> None:
    grouper: DistrictGrouper[str] = DistrictGrouper(window_s=120, max_batch=3)
    released = []
    for item, district, severity, t in events:
        released += grouper.add(item, district, severity, T0 + timedelta(seconds=t))
    assert released == expected_now
    for t, batches in expected_due.items():
        assert grouper.due(T0 + timedelta(seconds=t)) == batches
    assert grouper.pending() == 0


BOOK = ThresholdBook(
    per_area={"POI072": StageThresholds(1.2, 1.8, 2.8, 4.5)},
    per_zone={("POI072", "alley"): NARROW_ALLEY_THRESHOLDS},
    events=(
        EventDayProfile("countdown", at(0), at(3600), StageThresholds(1.0, 1.6, 2.6, 4.2),
                        frozenset({"POI072", "POI009"})),
    ),
)  # fmt: skip


@pytest.mark.parametrize(
    ("area", "zone", "district", "t"),
    [
        ("POI072", None, "용산구", -60),
        ("POI072", None, "용산구", 0),
        ("POI072", "alley", "용산구", 0),
        ("POI072", "plaza", "용산구", 0),
        ("POI072", "alley", "용산구", 3600),
        ("POI009", None, "종로구", 10),
        ("POI073", None, "용산구", 10),
    ],
)
def test_alert_policy_resolves_the_worker_book(
    area: str, zone: str | None, district: str, t: float
) -> None:
    """The alert rules and the stage the worker publishes use the same bounds."""
    rules = AlertSettings().policy(BOOK).rules_for(area, zone, district, at(t))
    resolved = BOOK.resolve(area, zone, at(t))
    assert rules.stage.thresholds == resolved.thresholds
    assert (rules.profile == "countdown") == ("+event:countdown" in resolved.origin)
