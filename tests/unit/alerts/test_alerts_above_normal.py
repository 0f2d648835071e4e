"""The above-normal rule: conditions per level, and the engine firing, escalating and
clearing it with holds; overrides per area and per event day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.rules import (
    AboveNormalRule,
    AlertEngine,
    AlertEventDay,
    AlertPolicy,
    Escalate,
    Fire,
    Resolve,
    RuleKind,
    RuleOverride,
)
from alerts.rules.above_normal import EXPECTED_RATIOS, above_normal_conditions
from alerts.settings import AlertSettings
from citypulse.domain.area_state import AreaState
from citypulse.domain.stages import DEFAULT_THRESHOLDS, Stage
from citypulse.domain.threshold_reader import book_from_rows
from citypulse.domain.thresholds import EventDayProfile
from tests.unit.alerts.alerts_factories import T0, make_state

NORMAL = 10_000.0
LEVELS = (Stage.CAUTION, Stage.ALERT, Stage.SERIOUS)


def _state(t_s: float, ratio: float | None, *, sd: float | None = 1_000.0,
           zone: str | None = None, normal: float = NORMAL) -> AreaState:  # fmt: skip
    people = (ratio or 1.0) * normal
    base = make_state(t_s, people / 100_000.0, zone=zone, walkable_m2=100_000.0)
    return base.model_copy(
        update={
            "people": people,
            "normal_people": None if ratio is None else normal,
            "normal_sd": sd,
            "normal_ratio": ratio,
        }
    )


@pytest.mark.parametrize(
    ("ratio", "sd", "raised", "cleared"),
    [
        (1.0, 1_000.0, set(), set(LEVELS)),
        (1.7, 1_000.0, set(), {Stage.ALERT, Stage.SERIOUS}),  # under 0.8 x 3 and 0.8 x 5
        (2.0, 1_000.0, {Stage.CAUTION}, {Stage.ALERT, Stage.SERIOUS}),
        (3.2, 1_000.0, {Stage.CAUTION, Stage.ALERT}, {Stage.SERIOUS}),
        (5.0, 1_000.0, set(LEVELS), set()),
        (2.5, 8_000.0, set(), {Stage.SERIOUS}),  # z 1.9: this hour swings widely
        (2.5, 0.0, {Stage.CAUTION}, {Stage.SERIOUS}),  # one day seen: the ratio alone
        (2.5, None, {Stage.CAUTION}, {Stage.SERIOUS}),
    ],
)
def test_conditions_by_ratio_and_spread(
    ratio: float, sd: float | None, raised: set[Stage], cleared: set[Stage]
) -> None:
    cond = above_normal_conditions(AboveNormalRule(), _state(0, ratio, sd=sd), LEVELS)
    assert {lvl for lvl, v in cond.raise_.items() if v} == raised
    assert {lvl for lvl, v in cond.clear.items() if v} == cleared


@pytest.mark.parametrize(
    ("high", "above_seen", "raised"),
    [
        (None, True, set(LEVELS)),  # unknown (an older fit): the ratio and z decide
        (0.0, True, set(LEVELS)),
        (45_000.0, True, {Stage.CAUTION}),  # more than it has ever held, but only just
        (60_000.0, True, set()),  # a stadium on a game night has held more: not unusual
        (60_000.0, False, set(LEVELS)),  # the area's setting turns the check off
    ],
)
def test_a_count_the_area_has_held_before_is_not_unusual(
    high: float | None, above_seen: bool, raised: set[Stage]
) -> None:
    state = _state(0, 5.0).model_copy(update={"normal_high": high})
    cond = above_normal_conditions(AboveNormalRule(above_seen=above_seen), state, LEVELS)
    assert {lvl for lvl, v in cond.raise_.items() if v} == raised
    assert not any(cond.clear.values())  # clearing still follows the ratio alone


@pytest.mark.parametrize(
    ("people", "high", "steps", "raised"),
    [
        # quiet nights 10,000, event nights have held 20,000
        (25_000.0, 20_000.0, True, {Stage.CAUTION}),  # 2.5x: past the high, not 1.5x it
        (30_000.0, 20_000.0, True, {Stage.CAUTION, Stage.ALERT}),  # 1.5x the high: 경계
        (49_000.0, 20_000.0, True, {Stage.CAUTION, Stage.ALERT}),  # 4.9x: under 2.5x high
        (50_000.0, 20_000.0, True, set(LEVELS)),  # 2.5x the most it has held: 심각
        (30_000.0, 20_000.0, False, {Stage.CAUTION, Stage.ALERT}),
        (25_000.0, 20_000.0, False, {Stage.CAUTION}),  # the ratio alone says 주의
        (45_000.0, 20_000.0, False, {Stage.CAUTION, Stage.ALERT}),
        (35_000.0, 12_000.0, True, {Stage.CAUTION, Stage.ALERT}),  # an ordinary high
        (50_000.0, None, True, set(LEVELS)),  # unknown high: the ratio decides
    ],
)
def test_levels_past_the_first_step_past_what_the_area_has_held(
    people: float, high: float | None, steps: bool, raised: set[Stage]
) -> None:
    """A venue with event nights escalates on its excess over the nights it has seen."""
    state = _state(0, people / NORMAL).model_copy(update={"normal_high": high})
    cond = above_normal_conditions(AboveNormalRule(steps_above_seen=steps), state, LEVELS)
    assert {lvl for lvl, v in cond.raise_.items() if v} == raised


@pytest.mark.parametrize(
    ("state", "raised", "cleared"),
    [
        (_state(0, None), False, False),  # uncalibrated: neither
        (_state(0, 4.0, zone="z1"), False, False),  # zones keep density stages
        (_state(0, 4.0, normal=300.0), False, True),  # 1,200 where 300 is usual: noise
    ],
)
def test_no_normal_no_alert(state: AreaState, raised: bool, cleared: bool) -> None:
    cond = above_normal_conditions(AboveNormalRule(), state, LEVELS)
    assert set(cond.raise_.values()) == {raised}
    assert set(cond.clear.values()) == {cleared}


@pytest.mark.parametrize(
    "ratios",
    [
        (),
        ((Stage.ALERT, 2.0), (Stage.CAUTION, 3.0)),
        ((Stage.CAUTION, 3.0), (Stage.ALERT, 2.0)),
        ((Stage.NORMAL, 2.0),),
        ((Stage.CAUTION, 0.9),),
    ],
)
def test_bad_ratio_ladders_are_refused(ratios: tuple[tuple[Stage, float], ...]) -> None:
    with pytest.raises(ValueError, match="above-normal"):
        AboveNormalRule(ratios=ratios)


def _run(engine: AlertEngine, series: list[tuple[float, float]]) -> list[object]:
    out: list[object] = []
    for t, ratio in series:
        out += [
            d
            for d in engine.evaluate(_state(t, ratio), T0 + timedelta(seconds=t))
            if getattr(d, "rule", None) is RuleKind.ABOVE_NORMAL
        ]
    return out


def test_an_area_ramping_to_5x_its_normal_escalates_one_alert_then_resolves() -> None:
    engine = AlertEngine(AlertPolicy())
    ramp = [
        (i * 300.0, r) for i, r in enumerate([1.0, 2.2, 2.4, 2.5, 3.1, 3.3, 3.5, 5.2, 5.5, 6.0])
    ]
    calm = [(3000.0 + i * 300.0, 1.0) for i in range(6)]
    decisions = _run(engine, ramp + calm)
    kinds = [(type(d).__name__, d.severity) for d in decisions]  # type: ignore[attr-defined]
    assert kinds == [
        ("Fire", Stage.CAUTION),  # 2x held 600 s: at 2.5
        ("Escalate", Stage.ALERT),  # 3x held 600 s
        ("Escalate", Stage.SERIOUS),
        ("Resolve", Stage.SERIOUS),
    ]
    fire = decisions[0]
    assert isinstance(fire, Fire) and fire.reading.as_of == T0 + timedelta(seconds=900)
    assert fire.reading.normal_people == NORMAL
    assert "2.5x the usual 10,000" in fire.reason
    assert isinstance(decisions[1], Escalate) and isinstance(decisions[3], Resolve)


def test_a_short_spike_does_not_fire() -> None:
    engine = AlertEngine(AlertPolicy())
    assert _run(engine, [(0, 1.0), (300, 4.0), (600, 1.0), (900, 4.0), (1200, 1.0)]) == []


def test_overrides_per_area_and_per_event_day() -> None:
    strict = AboveNormalRule(ratios=((Stage.CAUTION, 1.5),), hold_s=0)
    festival = AboveNormalRule(ratios=((Stage.CAUTION, 4.0),), hold_s=0)
    day = EventDayProfile(name="축제", start=T0 - timedelta(hours=1),
                          end=T0 + timedelta(hours=1), thresholds=DEFAULT_THRESHOLDS,
                          area_codes=frozenset({"POI009"}))  # fmt: skip
    overridden = AlertPolicy.build(overrides=[RuleOverride("POI009", above_normal=strict)])
    assert len(_run(AlertEngine(overridden), [(0, 1.6)])) == 1
    assert _run(AlertEngine(AlertPolicy()), [(0, 1.6), (900, 1.6)]) == []
    on_event_day = AlertPolicy.build(
        overrides=[RuleOverride("POI009", above_normal=strict)],
        profiles=[AlertEventDay(day, above_normal=festival)],
    )
    assert _run(AlertEngine(on_event_day), [(0, 3.5)]) == []  # a festival is busy anyway
    assert len(_run(AlertEngine(on_event_day), [(60, 4.5)])) == 1


DOME_SEATS = 16_744.0


@pytest.mark.parametrize(
    ("people", "expected", "raised"),
    [
        # A full dome on a game night, ten times a quiet evening: with the declared
        # crowd it is what the night is for; without it, 경계 and beyond.
        (13_000.0, DOME_SEATS, set()),
        (13_000.0, None, set(LEVELS)),
        # Beyond the seats: 10 % more is 주의, half again 경계, twice 심각.
        (18_500.0, DOME_SEATS, {Stage.CAUTION}),
        (25_200.0, DOME_SEATS, {Stage.CAUTION, Stage.ALERT}),
        (34_000.0, DOME_SEATS, set(LEVELS)),
        # A declared crowd below the area's own normal changes nothing.
        (2.5 * 1_300.0, 500.0, {Stage.CAUTION}),
    ],
)
def test_a_declared_crowd_is_what_the_count_is_measured_against(
    people: float, expected: float | None, raised: set[Stage]
) -> None:
    normal = 1_300.0  # a quiet evening at the dome
    state = _state(0, people / normal, normal=normal, sd=150.0)
    rule = AboveNormalRule()
    if expected is not None and expected > normal:
        rule = AboveNormalRule(ratios=EXPECTED_RATIOS, expected_people=expected)
    elif expected is not None:
        rule = AboveNormalRule(expected_people=expected)
    cond = above_normal_conditions(rule, state, LEVELS)
    assert {lvl for lvl, v in cond.raise_.items() if v} == raised


def test_a_declared_crowd_reaches_the_rule_from_the_event_day_rows() -> None:
    """The path the worker takes: an event_day_profiles row with expected_people ->
    ThresholdBook -> AlertSettings.policy -> the area's rules while it is active."""
    book = book_from_rows([], [], [{
        "id": 7, "name": "KBO at Gocheok", "starts_at": T0, "ends_at": T0 + timedelta(hours=6),
        "thresholds": DEFAULT_THRESHOLDS.__dict__, "area_codes": ["POI086"],
        "expected_people": DOME_SEATS,
    }])  # fmt: skip
    policy = AlertSettings().policy(book)
    during = policy.rules_for("POI086", None, "구로구", T0 + timedelta(hours=1))
    assert during.above_normal.expected_people == DOME_SEATS
    assert during.above_normal.ratios == EXPECTED_RATIOS and during.profile == "KBO at Gocheok"
    after = policy.rules_for("POI086", None, "구로구", T0 + timedelta(hours=6))
    assert after.above_normal.expected_people is None
    elsewhere = policy.rules_for("POI009", None, "종로구", T0 + timedelta(hours=1))
    assert elsewhere.above_normal.expected_people is None
    # The engine on that policy: a full dome raises nothing during the declaration.
    engine = AlertEngine(policy)
    full = [
        _state(t, 13_000.0 / 1_300.0, normal=1_300.0).model_copy(update={"area_code": "POI086"})
        for t in range(0, 3600, 300)
    ]
    assert [d for s in full for d in engine.evaluate(s, s.as_of) if isinstance(d, Fire)] == []
