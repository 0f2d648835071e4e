"""AlertEngine: hold, hysteresis, ramps, noise, rate of rise, forecast, data gap."""

from __future__ import annotations

import random

import pytest
from alerts_factories import at, make_state

from alerts.lifecycle import AlertStatus, TemplateKind, apply_decision
from alerts.messages import render_message
from alerts.rules import (
    AlertDecision,
    AlertEngine,
    AlertPolicy,
    AreaInfo,
    Deescalate,
    Escalate,
    Fire,
    ForecastRule,
    NoChange,
    OpenAlert,
    RateOfRiseRule,
    Resolve,
    RuleKind,
    RuleSet,
    StageRule,
)
from citypulse.domain.stages import Stage

C, A, S = Stage.CAUTION, Stage.ALERT, Stage.SERIOUS
AREAS = {"POI009": AreaInfo("POI009", "광화문·덕수궁", "Gwanghwamun", "종로구")}


def summary(decisions: list[AlertDecision]) -> list[tuple[str, str, int]]:
    """(decision type, rule, stage) of each change; NoChange is left out."""
    return [
        (type(d).__name__, d.rule.value, int(d.severity))
        for d in decisions
        if not isinstance(d, NoChange)
    ]


def run(
    samples: list[tuple[float, float]], engine: AlertEngine | None = None, **kw: object
) -> list[tuple[float, str, str, int]]:
    """Feed (t_s, density) samples; return (t_s, type, rule, stage) of each change."""
    eng = engine or AlertEngine(areas=AREAS)
    out = []
    for t, d in samples:
        for kind, rule, stage in summary(eng.evaluate(make_state(t, d, **kw), at(t))):  # type: ignore[arg-type]
            out.append((t, kind, rule, stage))
    return out


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        # Held 60 s in event time: fires at the sample that completes the hold.
        ([(0, 2.5), (30, 2.5), (60, 2.5)], [(60, "Fire", "stage", C)]),
        # A dip below the bound restarts the hold.
        ([(0, 2.5), (30, 1.9), (60, 2.5), (90, 2.5), (120, 2.5)], [(120, "Fire", "stage", C)]),
        # 59 s is not 60 s.
        ([(0, 2.5), (59, 2.5)], []),
        # A jump straight to 심각 held for the hold time fires 심각 directly.
        ([(0, 5.5), (60, 5.5)], [(60, "Fire", "stage", S)]),
        # 관심 (1.5-2.0) is below min_stage: nothing is texted.
        ([(0, 1.8), (600, 1.8)], []),
        # Telecom data every 5 minutes: the second sample completes the hold.
        ([(0, 3.2), (300, 3.2)], [(300, "Fire", "stage", A)]),
        # Samples further apart than max_sample_gap_s (630 s) do not make a hold.
        ([(0, 3.2), (700, 3.2), (1400, 3.2)], []),
        ([(0, 3.2), (700, 3.2), (760, 3.2)], [(760, "Fire", "stage", A)]),
        # Exactly on the lower bound counts as inside the stage.
        ([(0, 2.0), (60, 2.0)], [(60, "Fire", "stage", C)]),
    ],
)
def test_stage_hold(samples: list[tuple[float, float]], expected: list[tuple[object, ...]]) -> None:
    assert run(samples) == expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        # 1.8 is below 2.0 but not below 2.0 - 0.3: hysteresis keeps the alert open.
        ([(200, 1.8), (2000, 1.8)], []),
        # Below 1.7 for 299 s: not yet; 300 s: auto-resolve.
        ([(200, 1.6), (499, 1.6)], []),
        ([(200, 1.6), (500, 1.6)], [(500, "Resolve", "stage", C)]),
        # A bounce above the clear bound restarts the clear hold.
        ([(200, 1.6), (400, 1.75), (500, 1.6), (799, 1.6), (800, 1.6)],
         [(800, "Resolve", "stage", C)]),
        # 1.69 is below 1.7 (strict).
        ([(200, 1.69), (500, 1.69)], [(500, "Resolve", "stage", C)]),
    ],
)  # fmt: skip
def test_stage_hysteresis(tail: list[tuple[float, float]], expected: list[object]) -> None:
    opened = run([(0, 2.5), (60, 2.5), *tail])
    assert opened[0] == (60, "Fire", "stage", C)
    assert opened[1:] == expected


def festival_ramp() -> list[tuple[float, float]]:
    """One sample a minute: 1.0 -> 6.0 over 50 min, 30 min at 6.0, back to 1.0 in 50 min."""
    up = [(m * 60.0, 1.0 + 0.1 * m) for m in range(51)]
    top = [((50 + m) * 60.0, 6.0) for m in range(1, 31)]
    down = [((80 + m) * 60.0, 6.0 - 0.1 * m) for m in range(1, 51)]
    return up + top + down


def test_festival_ramp_escalates_then_deescalates_in_order() -> None:
    changes = run(festival_ramp())
    assert [(k, s) for _, k, _, s in changes] == [
        ("Fire", C),
        ("Escalate", A),
        ("Escalate", S),
        ("Deescalate", A),
        ("Deescalate", C),
        ("Resolve", C),
    ]
    times_min = [t / 60 for t, *_ in changes]
    # Up: 2.0 reached at minute 10, 3.0 at 20, 5.0 at 40, each +1 min hold.
    # Down: below 4.7 from minute 94 (6.0 - 0.1*14 = 4.6), +5 min clear hold = 99;
    # below 2.7 from 113, +5 = 118; below 1.7 from 124 (1.6), +5 = 129.
    assert times_min == pytest.approx([11, 21, 41, 99, 118, 129])


@pytest.mark.parametrize(("centre", "seed"), [(2.0, 1), (2.0, 2), (3.0, 3), (5.0, 4)])
def test_noisy_day_near_a_threshold_gives_one_alert(centre: float, seed: int) -> None:
    rng = random.Random(seed)
    samples = [(m * 60.0, centre + rng.uniform(-0.25, 0.25)) for m in range(24 * 60)]
    changes = run(samples)
    kinds = [k for _, k, _, _ in changes]
    assert kinds.count("Fire") == 1
    assert "Resolve" not in kinds
    assert "Deescalate" not in kinds
    # At most one step up within the day (e.g. 주의 then 경계 around 3.0).
    assert len(changes) <= 2


@pytest.mark.parametrize(
    ("trends", "density", "expected"),
    [
        # +0.1/m²/min held 120 s fires at 주의.
        ([(0, 0.15), (60, 0.15), (120, 0.15)], 2.0, [(120, "Fire", "rate_of_rise", C)]),
        # Below the rate: nothing.
        ([(0, 0.05), (60, 0.05), (120, 0.05)], 2.0, []),
        # Fast rise in a near-empty square: nothing.
        ([(0, 0.3), (60, 0.3), (120, 0.3)], 0.5, []),
        # Unknown trend neither raises nor clears.
        ([(0, None), (60, None), (120, None)], 2.0, []),
        # Fires, then the rise stops (< 0.03) for 300 s: resolves.
        ([(0, 0.2), (120, 0.2), (180, 0.0), (479, 0.0), (480, 0.0)], 2.0,
         [(120, "Fire", "rate_of_rise", C), (480, "Resolve", "rate_of_rise", C)]),
    ],
)  # fmt: skip
def test_rate_of_rise(
    trends: list[tuple[float, float | None]], density: float, expected: list[object]
) -> None:
    # Density 2.0 is 주의 too; look only at the rate-of-rise rule.
    eng = AlertEngine(
        areas=AREAS, policy=AlertPolicy(defaults=RuleSet(stage=StageRule(enabled=False)))
    )
    out = []
    for t, trend in trends:
        for kind, rule, stage in summary(eng.evaluate(make_state(t, density, trend=trend), at(t))):
            out.append((t, kind, rule, stage))
    assert out == expected


@pytest.mark.parametrize(
    ("forecast", "expected"),
    [
        # 5.2/m² forecast in 10 min: early warning at 경계 after the hold.
        (((10, 5.2), (30, 4.0)), [(60, "Fire", "forecast", A)]),
        (((10, 4.0), (30, 5.0)), [(60, "Fire", "forecast", A)]),
        # Beyond the 30-minute horizon does not count.
        (((10, 3.0), (60, 6.0)), []),
        (((10, 4.9), (30, 4.99)), []),
        ((), []),
    ],
)
def test_forecast_crossing(forecast: tuple[tuple[int, float], ...], expected: list[object]) -> None:
    eng = AlertEngine(areas=AREAS)
    out = []
    for t in (0, 60):
        for kind, rule, stage in summary(
            eng.evaluate(make_state(t, 1.0, forecast=forecast), at(t))
        ):
            out.append((t, kind, rule, stage))
    assert out == expected


def test_forecast_clears_with_margin_and_hold() -> None:
    eng = AlertEngine(areas=AREAS)
    seq = [(0, 5.1), (60, 5.1), (120, 4.8), (500, 4.8), (600, 4.6), (899, 4.6), (900, 4.6)]
    out = []
    for t, f in seq:
        for kind, _, _ in summary(eng.evaluate(make_state(t, 1.0, forecast=((30, f),)), at(t))):
            out.append((t, kind))
    # 4.8 is within the 0.3 margin of 5.0: stays; below 4.7 for 300 s: resolves.
    assert out == [(60, "Fire"), (900, "Resolve")]


def test_stale_feed_never_clears_and_raises_data_gap() -> None:
    eng = AlertEngine(areas=AREAS)
    log: list[tuple[float, str, str, int]] = []

    def feed(t: float, d: float, stale: bool = False) -> None:
        for k, r, s in summary(eng.evaluate(make_state(t, d, stale=stale), at(t))):
            log.append((t, k, r, s))

    feed(0, 3.5)
    feed(60, 3.5)  # 경계 opens
    feed(120, 0.0, stale=True)  # silent feed reports 0: must not look calm
    feed(1000, 0.0, stale=True)
    feed(1100, 3.4)  # back: gap resolves at once, stage alert still open
    assert log == [
        (60, "Fire", "stage", A),
        (120, "Fire", "data_gap", C),
        (1100, "Resolve", "data_gap", C),
    ]
    assert eng.open_levels() == {"POI009:stage": A}


@pytest.mark.parametrize(
    ("silent_s", "watched", "fires"),
    [(899, None, False), (900, None, True), (3600, frozenset({"POI001"}), False)],
)
def test_sweep_fires_data_gap_for_silent_keys(
    silent_s: float, watched: frozenset[str] | None, fires: bool
) -> None:
    from alerts.rules import DataGapRule

    eng = AlertEngine(
        areas=AREAS, policy=AlertPolicy(defaults=RuleSet(data_gap=DataGapRule(watched=watched)))
    )
    eng.evaluate(make_state(0, 1.0), at(0))
    first = summary(eng.sweep(at(silent_s)))
    assert first == ([("Fire", "data_gap", C)] if fires else [])
    if fires:
        assert summary(eng.sweep(at(silent_s + 600))) == []  # one open alert per key


def test_out_of_order_and_duplicate_states_are_ignored() -> None:
    eng = AlertEngine(areas=AREAS)
    eng.evaluate(make_state(60, 2.5), at(60))
    late = eng.evaluate(make_state(30, 2.5), at(61))
    dup = eng.evaluate(make_state(60, 2.5), at(62))
    assert late == [NoChange("POI009", "out_of_order_or_duplicate", at(61))]
    assert isinstance(dup[0], NoChange)


def test_decision_carries_subject_reading_and_dedup_key() -> None:
    eng = AlertEngine(areas=AREAS)
    eng.evaluate(make_state(0, 3.25, trend=0.02), at(0))
    (fire,) = eng.evaluate(make_state(60, 3.25, trend=0.02), at(65))
    assert isinstance(fire, Fire)
    assert fire.dedup_key == "POI009:stage"
    assert fire.subject.district == "종로구"
    assert fire.subject.name_ko == "광화문·덕수궁"
    assert fire.reading.density_per_m2 == 3.25
    assert fire.reading.people == 32_500
    assert fire.reading.as_of == at(60)
    assert fire.decided_at == at(65)
    assert fire.muted is None
    assert fire.reason == "density 3.2/m²: normal -> alert"


def test_restore_and_release() -> None:
    from alerts.rules import AlertSubject, OpenAlert

    subject = AlertSubject("POI009", "POI009", None, "종로구", "광화문·덕수궁", "Gwanghwamun")
    eng = AlertEngine(areas=AREAS)
    eng.restore([OpenAlert("POI009:stage", subject, RuleKind.STAGE, A)], at(0))
    # After a restart the open 경계 is known: 3.5 is no new alert, 1.0 held resolves it.
    assert summary(eng.evaluate(make_state(0, 3.5), at(0))) == []
    assert summary(eng.evaluate(make_state(60, 1.0), at(60))) == []
    assert summary(eng.evaluate(make_state(360, 1.0), at(360))) == [("Resolve", "stage", A)]
    # An operator resolves by hand: the rule may fire again after a fresh hold.
    eng.evaluate(make_state(400, 3.5), at(400))
    eng.evaluate(make_state(460, 3.5), at(460))
    eng.release("POI009:stage")
    assert eng.open_levels() == {}
    assert summary(eng.evaluate(make_state(480, 3.5), at(480))) == []
    assert summary(eng.evaluate(make_state(540, 3.5), at(540))) == [("Fire", "stage", A)]


def test_decision_types_are_distinct() -> None:
    # Escalate/Deescalate carry the stage they came from.
    changes = []
    eng = AlertEngine(areas=AREAS)
    for t, d in [(0, 2.5), (60, 2.5), (120, 3.5), (180, 3.5), (240, 2.5), (540, 2.5)]:
        changes += eng.evaluate(make_state(t, d), at(t))
    esc, de = changes[1], changes[2]
    assert isinstance(esc, Escalate) and (esc.previous, esc.severity) == (C, A)
    assert isinstance(de, Deescalate) and (de.previous, de.severity) == (A, C)
    assert not any(isinstance(c, Resolve) for c in changes)


@pytest.mark.parametrize(
    ("density", "trend", "agreement", "expected"),
    [
        # +0.05/m²/min from 3.6: 심각 (5/m²) in 28 min, within the 30-minute horizon.
        (3.6, 0.05, 0.9, [(60, "Fire", "forecast", A)]),
        # 32 min away: not yet.
        (3.4, 0.05, 0.9, []),
        # The same slope from noise (no agreement) is not projected.
        (3.6, 0.05, 0.2, []),
        # A state without an agreement (an older worker): only the published forecast.
        (3.6, 0.05, None, []),
        # Falling or flat: never.
        (4.9, -0.1, 0.9, []),
        (4.9, 0.0, 0.9, []),
        # Already at 심각: the stage rule speaks, the warning is not raised now.
        (5.2, 0.1, 0.9, []),
    ],
)
def test_forecast_projects_a_steady_rise_on_its_straight_line(
    density: float, trend: float, agreement: float | None, expected: list[object]
) -> None:
    eng = AlertEngine(
        areas=AREAS, policy=AlertPolicy(defaults=RuleSet(stage=StageRule(enabled=False)))
    )
    out = []
    for t in (0, 60):
        state = make_state(t, density, trend=trend, trend_agreement=agreement)
        for kind, rule, stage in summary(eng.evaluate(state, at(t))):
            if rule == "forecast":
                out.append((t, kind, rule, stage))
    assert out == expected


def test_the_straight_line_warning_says_when_and_clears_when_the_rise_stops() -> None:
    eng = AlertEngine(
        areas=AREAS, policy=AlertPolicy(defaults=RuleSet(stage=StageRule(enabled=False)))
    )
    log: list[tuple[int, str]] = []
    fire: Fire | None = None
    for t, trend in [(0, 0.1), (60, 0.1), (120, 0.0), (419, 0.0), (420, 0.0)]:
        for d in eng.evaluate(make_state(t, 3.0, trend=trend, trend_agreement=0.9), at(t)):
            if isinstance(d, Fire | Resolve) and d.rule is RuleKind.FORECAST:
                log.append((t, type(d).__name__))
                fire = d if isinstance(d, Fire) else fire
    assert log == [(60, "Fire"), (420, "Resolve")]  # the clear hold is 300 s
    # The text names when the line reaches 심각 and its bound, not the damped forecast.
    assert fire is not None and fire.reason == "serious forecast in 20 min (5.0/m²)"
    assert (fire.reading.forecast_horizon_min, fire.reading.forecast_density_per_m2) == (20, 5.0)


def ramp_1_to_7(ready_from_min: int, agreement: float | None) -> list[dict[str, object]]:
    """1 -> 7 persons/m² over 30 minutes, one sample a minute, trend +0.2/m²/min; the
    trend is ready from `ready_from_min` (after a start); `agreement` is its steadiness."""
    return [
        {"t": m * 60.0, "density": 1.0 + 0.2 * m, "trend": 0.2,
         "trend_ready": m >= ready_from_min, "trend_agreement": agreement}
        for m in range(31)
    ]  # fmt: skip


def run_ramp(samples: list[dict[str, object]], fold: bool) -> list[tuple[float, str, str, int]]:
    """`fold`: the rate of rise folded and the forecast one alert with the stage."""
    rules = RuleSet(rate_of_rise=RateOfRiseRule(fold_into_open=fold),
                    forecast=ForecastRule(one_alert_with_stage=fold))  # fmt: skip
    eng = AlertEngine(areas=AREAS, policy=AlertPolicy(defaults=rules))
    out = []
    for s in samples:
        t, d = float(s.pop("t")), float(s.pop("density"))  # type: ignore[arg-type]
        for d_ in eng.evaluate(make_state(t, d, **s), at(t)):  # type: ignore[arg-type]
            if isinstance(d_, Resolve) and d_.folded_into:
                out.append((t / 60, "Folded", d_.rule.value, int(d_.severity)))
            elif not isinstance(d_, NoChange):
                out.append((t / 60, type(d_).__name__, d_.rule.value, int(d_.severity)))
    return out


STAGE_STEPS = [(6.0, "Fire", "stage", C), (11.0, "Escalate", "stage", A),
               (21.0, "Escalate", "stage", S)]  # fmt: skip


@pytest.mark.parametrize(
    ("ready_from", "agreement", "unfolded", "folded"),
    [
        # The case: a trend warm only after the stage alert opened (minute 6).
        # Unfolded, the rate of rise sends a second 주의 two minutes later; folded, the
        # stage alert (whose texts carry +0.20/분) is the one alert, escalating.
        (6, None, [*STAGE_STEPS[:1], (8.0, "Fire", "rate_of_rise", C), *STAGE_STEPS[1:]],
         STAGE_STEPS),
        # A warm trend: the rate of rise opens first (minute 5, at 2.0/m² held 2 min from
        # 1.6), the earliest word of the rise; when the stage alert opens the next minute
        # it is folded into it (closed without a text), and the stage alert escalates.
        (0, None, [(5.0, "Fire", "rate_of_rise", C), *STAGE_STEPS],
         [(5.0, "Fire", "rate_of_rise", C), (6.0, "Fire", "stage", C),
          (6.0, "Folded", "rate_of_rise", C), *STAGE_STEPS[1:]]),
        # A steady rise: the forecast warning of 심각 (경계) comes first and covers the
        # rate of rise; folded, no 주의 of that rule at all, and the stage's 주의 and
        # 경계 are not news under the warning's 경계: the warning's alert is raised to
        # 심각 when the stage reaches it (one alert, test_forecast_and_stage_are_one_alert).
        (0, 1.0, [(1.0, "Fire", "forecast", A), (5.0, "Fire", "rate_of_rise", C),
                  *STAGE_STEPS],
         [(1.0, "Fire", "forecast", A), (21.0, "Escalate", "stage", S)]),
    ],
)  # fmt: skip
def test_rate_of_rise_is_folded_into_the_open_alert_of_its_key(
    ready_from: int,
    agreement: float | None,
    unfolded: list[tuple[object, ...]],
    folded: list[tuple[object, ...]],
) -> None:
    assert run_ramp(ramp_1_to_7(ready_from, agreement), fold=False) == unfolded
    changes = run_ramp(ramp_1_to_7(ready_from, agreement), fold=True)
    assert changes == folded
    # Never a rate-of-rise alert open beside the stage alert of the same key (the
    # unfolded run has both open from the stage alert on).
    assert max(open_side_by_side(changes)) <= 1
    assert max(open_side_by_side(unfolded)) == 2


def open_side_by_side(changes: list[tuple[object, ...]]) -> list[int]:
    """How many stage and rate-of-rise alerts are open after each sample's decisions."""
    open_: set[object] = set()
    counts: dict[object, int] = {}
    for t, kind, rule, _ in changes:
        if rule not in ("stage", "rate_of_rise"):
            continue
        if kind == "Fire":
            open_.add(rule)
        elif kind in ("Folded", "Resolve"):
            open_.discard(rule)
        counts[t] = len(open_)
    return list(counts.values())


def test_a_folded_rate_of_rise_closes_without_a_text() -> None:
    eng = AlertEngine(areas=AREAS)
    decisions = []
    for s in ramp_1_to_7(0, None)[:7]:
        t, d = float(s.pop("t")), float(s.pop("density"))  # type: ignore[arg-type]
        decisions += eng.evaluate(make_state(t, d, **s), at(t))  # type: ignore[arg-type]
    fire = next(d for d in decisions if isinstance(d, Fire) and d.rule is RuleKind.RATE_OF_RISE)
    fold = next(d for d in decisions if isinstance(d, Resolve))
    assert fold.folded_into == "POI009:stage" and fold.reason == "folded into POI009:stage"
    opened = apply_decision(None, fire, at(300), new_alert_id="A1")
    assert opened is not None and opened.notifications  # the rise itself was texted
    closed = apply_decision(opened.record, fold, at(360))
    assert closed is not None and closed.record.status is AlertStatus.AUTO_RESOLVED
    assert closed.notifications == ()  # the stage alert carries the news now
    assert closed.audit[0].why == "folded into POI009:stage"
    # The rise keeps going: covered by the open stage alert, it does not reopen.
    assert "POI009:rate_of_rise" not in eng.open_levels()


def joint_run(eng: AlertEngine, samples: list[tuple[float, float, bool]]) -> list[AlertDecision]:
    """(minute, density, 심각 forecast in 10 min?) one sample a minute."""
    out: list[AlertDecision] = []
    for m, density, ahead in samples:
        state = make_state(m * 60, density, forecast=((10, 6.0),) if ahead else ())
        out += [d for d in eng.evaluate(state, at(m * 60)) if not isinstance(d, NoChange)]
    return out


# The warning of 심각 first (minute 1), then the stage crossing 주의, 경계 and 심각, a
# fall to 3.5/m² (경계) and back to 1.0/m².
JOINT_RAMP = (
    [(m, 1.0, True) for m in range(2)] + [(m, 2.2, True) for m in range(2, 4)]
    + [(m, 3.2, True) for m in range(4, 6)] + [(m, 5.5, True) for m in range(6, 8)]
    + [(m, 3.5, False) for m in range(8, 20)] + [(m, 1.0, False) for m in range(20, 40)]
)  # fmt: skip


@pytest.mark.parametrize(
    ("joined", "expected"),
    [
        # One alert: the warning's, raised once by the stage at 심각 (its 주의 and 경계
        # are no news under a 경계 warning), lowered to the stage's 경계 once the warning
        # cleared, closed with the stage.
        (True, [("Fire", "forecast", A, "POI009:forecast"),
                ("Escalate", "stage", S, "POI009:forecast"),
                ("Deescalate", "stage", A, "POI009:forecast"),
                ("Resolve", "forecast", A, "POI009:forecast")]),
        # As before: two alerts, two 경계 texts on one key.
        (False, [("Fire", "forecast", A, "POI009:forecast"),
                 ("Fire", "stage", C, "POI009:stage"),
                 ("Escalate", "stage", A, "POI009:stage"),
                 ("Escalate", "stage", S, "POI009:stage"),
                 ("Deescalate", "stage", A, "POI009:stage"),
                 ("Resolve", "forecast", A, "POI009:forecast"),
                 ("Resolve", "stage", A, "POI009:stage")]),
    ],
)  # fmt: skip
def test_forecast_and_stage_are_one_alert(
    joined: bool, expected: list[tuple[str, str, Stage, str]]
) -> None:
    rules = RuleSet(forecast=ForecastRule(one_alert_with_stage=joined))
    eng = AlertEngine(areas=AREAS, policy=AlertPolicy(defaults=rules))
    changes = joint_run(eng, JOINT_RAMP)
    got = [(type(d).__name__, d.rule.value, d.severity, d.dedup_key) for d in changes]  # type: ignore[union-attr]
    assert got == expected
    assert eng.open_levels() == {}
    # Through the lifecycle: one record, one text per higher stage (the fire, the 심각).
    record, texts = None, []
    for d in changes:
        if d.dedup_key != "POI009:forecast":  # type: ignore[union-attr]
            continue
        tr = apply_decision(record, d, at(0), new_alert_id="A1")
        assert tr is not None
        record = tr.record
        texts += [n.kind for n in tr.notifications]
    assert record is not None and record.status is AlertStatus.AUTO_RESOLVED
    if joined:
        assert record.peak_severity == S
        assert [k for k in texts if k in ("fire", "escalate")] == ["fire", "escalate"]


def test_a_joint_alert_after_a_restart_or_a_manual_resolve() -> None:
    eng = AlertEngine(areas=AREAS)
    changes = joint_run(eng, JOINT_RAMP[:8])
    assert eng.open_levels() == {"POI009:forecast": S}
    subject = changes[0].subject  # type: ignore[union-attr]
    # A new worker restores the row (the database names the row's rule): the stage at
    # 심각 and the warning carry on in it, no second alert.
    again = AlertEngine(areas=AREAS)
    again.restore([OpenAlert("POI009:forecast", subject, RuleKind.FORECAST, S)], at(480))
    assert again.open_levels() == {"POI009:forecast": S}
    assert joint_run(again, [(m, 5.5, True) for m in range(8, 12)]) == []
    # An operator resolves it: both rules start afresh; the next crossing opens a new one.
    again.release("POI009:forecast")
    assert again.open_levels() == {}
    reopened = joint_run(again, [(m, 5.5, True) for m in range(12, 15)])
    assert [(type(d).__name__, d.dedup_key, d.severity) for d in reopened] == [  # type: ignore[union-attr]
        ("Fire", "POI009:stage", S)
    ]


def test_the_warning_of_serious_on_a_stage_alert_already_at_its_stage_is_texted_once() -> None:
    """A slow ramp: the stage alert reaches 경계 before the warning of 심각 rises. The
    warning is still news (it names the 심각 to come): one Escalate at the same stage on
    the stage's alert, in the warning's words, not a second 경계 alert."""
    eng = AlertEngine(areas=AREAS)
    samples = ([(m, 3.2, False) for m in range(4)] + [(m, 3.5, True) for m in range(4, 10)]
               + [(m, 5.5, True) for m in range(10, 12)])  # fmt: skip
    changes = joint_run(eng, samples)
    got = [(type(d).__name__, d.rule.value, d.severity, d.dedup_key) for d in changes]  # type: ignore[union-attr]
    assert got == [
        ("Fire", "stage", A, "POI009:stage"),
        ("Escalate", "forecast", A, "POI009:stage"),
        ("Escalate", "stage", S, "POI009:stage"),
    ]
    warning = changes[1]
    assert isinstance(warning, Escalate) and warning.previous == A
    assert warning.reading.forecast_warning and not changes[2].reading.forecast_warning  # type: ignore[union-attr]
    opened = apply_decision(None, changes[0], at(60), new_alert_id="A1")
    assert opened is not None
    warned = apply_decision(opened.record, warning, at(300))
    assert warned is not None and [n.kind.value for n in warned.notifications] == ["escalate"]
    text = render_message(TemplateKind.ESCALATE, "ko", [warned.record]).text
    assert text.startswith("[인파예측 경계] 광화문·덕수궁 10분내 심각 예상(6.0명/㎡)")
