"""Inputs that must not fool the alerts, through the worker's own code.

Events go through `streams.live.LiveStates` (the trackers, fusion, plausibility, trend
and forecast the worker runs) and every key's state, once a minute as the worker's
refresh publishes it, through `alerts.rules.AlertEngine` with the deployment policy.

- Implausible readings (beyond packing, a jump, off their peers, the largest count the
  decoder lets through; 1e30 itself is a dead letter since strict decoding) never raise or
  escalate a crowd alert: the crowd decisions equal those of the same world without them,
  and a data-quality alert opens instead.
- A counter dropping out of a two-counter zone, an outage and a cold start raise no
  forecast or rate-of-rise alert.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts.rules import AlertDecision, AlertEngine, AreaInfo, Escalate, Fire
from alerts.settings import AlertSettings
from citypulse.domain.stages import Stage
from sensors.events import MAX_PEOPLE, CityEvent, PopulationEstimate, ZoneCount
from sensors.registry import hotspots_by_code
from streams.live import LiveStates

HOTSPOTS = hotspots_by_code()
AREAS = {c: AreaInfo(c, h.name_ko, h.name_en, h.district) for c, h in HOTSPOTS.items()}
AREA = "POI009"
AREA_M2 = HOTSPOTS[AREA].walkable_m2
ZONE, ZONE_M2 = "z1", 200.0
T0 = datetime(2026, 6, 13, 9, 0, tzinfo=UTC)
CROWD_RULES = {"stage", "rate_of_rise", "forecast"}
TREND_RULES = {"rate_of_rise", "forecast"}

World = dict[int, list[CityEvent]]  # minute -> events of that minute


def telecom(minute: int, per_m2: float, eid: str = "") -> PopulationEstimate:
    people = round(per_m2 * AREA_M2)
    at = T0 + timedelta(minutes=minute)
    return PopulationEstimate(
        event_id=f"t{minute}{eid}", source="seoul", event_time=at, ingest_time=at,
        area_code=AREA, people_min=people, people_max=people,
    )  # fmt: skip


def counter(minute: int, cid: str, people: int, zone: str = ZONE, m2: float = ZONE_M2) -> ZoneCount:
    at = T0 + timedelta(minutes=minute, seconds=10)
    return ZoneCount(
        event_id=f"{zone}{cid}{minute}", source="cctv", event_time=at, ingest_time=at,
        area_code=AREA, zone_id=zone, counter_id=cid, count=people, walkable_m2=m2,
    )  # fmt: skip


def run(world: World, minutes: int, fold: bool = True) -> list[AlertDecision]:
    live = LiveStates(HOTSPOTS)
    policy = AlertSettings().policy()
    if not fold:  # the rate of rise and the forecast warning as alerts of their own
        rise = replace(policy.defaults.rate_of_rise, fold_into_open=False)
        ahead = replace(policy.defaults.forecast, one_alert_with_stage=False)
        policy = replace(policy, defaults=replace(policy.defaults, rate_of_rise=rise,
                                                  forecast=ahead))  # fmt: skip
    engine = AlertEngine(policy, AREAS)
    out: list[AlertDecision] = []
    for m in range(minutes):
        live.apply(world.get(m, []))
        now = T0 + timedelta(minutes=m, seconds=30)
        for area, zone in sorted(live.keys(), key=lambda k: (k[0], k[1] or "")):
            state = live.state(area, zone, now)
            if state is not None:
                out += engine.evaluate(state, now)
    return out


def raised(decisions: Iterable[AlertDecision], rules: set[str]) -> list[tuple[str, str, int]]:
    return [
        (d.dedup_key, type(d).__name__, int(d.severity))
        for d in decisions
        if isinstance(d, Fire | Escalate) and d.rule.value in rules
    ]


# -- implausible readings ----------------------------------------------------------------

MINUTES = 30
BAD_FROM = 10


def steady_world(zone_per_m2: float, area_per_m2: float) -> World:
    """Telecom every 5 minutes, three counters of one zone every minute, all agreeing."""
    world: World = {}
    for m in range(MINUTES):
        events: list[CityEvent] = [telecom(m, area_per_m2)] if m % 5 == 0 else []
        base = round(zone_per_m2 * ZONE_M2)
        events += [counter(m, cid, base + d) for cid, d in (("c1", 0), ("c2", 1), ("c3", -1))]
        world[m] = events
    return world


Spoil = Callable[[World, float, float], None]


def _replace(world: World, minute: int, new: CityEvent) -> None:
    """Put `new` in place of the same source's event of that minute (or add it)."""

    def same(e: CityEvent) -> bool:
        if isinstance(new, ZoneCount):
            return isinstance(e, ZoneCount) and e.counter_id == new.counter_id
        return isinstance(e, PopulationEstimate)

    world[minute] = [e for e in world[minute] if not same(e)] + [new]


def telecom_from(per_m2: Callable[[float], float]) -> Spoil:
    def spoil(world: World, zone: float, area: float) -> None:
        for m in range(BAD_FROM, MINUTES, 5):
            _replace(world, m, telecom(m, per_m2(area), "bad"))

    return spoil


def counters_from(cids: tuple[str, ...], people: Callable[[float], float], once: bool) -> Spoil:
    def spoil(world: World, zone: float, area: float) -> None:
        for m in [BAD_FROM] if once else range(BAD_FROM, MINUTES):
            for cid in cids:
                _replace(world, m, counter(m, cid, round(people(zone))))

    return spoil


SPOILS: dict[str, Spoil] = {
    "telecom at the decoder's bound": telecom_from(lambda a: MAX_PEOPLE / AREA_M2),
    "telecom beyond packing": telecom_from(lambda a: 11.0),
    "telecom 100x": telecom_from(lambda a: min(100 * a, 40.0, MAX_PEOPLE / AREA_M2)),
    "counter at the decoder's bound": counters_from(("c2",), lambda z: MAX_PEOPLE, once=False),
    "counter beyond packing": counters_from(("c2",), lambda z: 15 * ZONE_M2, once=False),
    "counter one-minute jump": counters_from(("c2",), lambda z: (z + 4) * ZONE_M2, once=True),
    "counter far off its peers": counters_from(("c3",), lambda z: 4.2 * z * ZONE_M2, once=False),
    "counter off peers, at the bound": counters_from(("c1",), lambda z: MAX_PEOPLE, once=False),
    "all counters jump once": counters_from(
        ("c1", "c2", "c3"), lambda z: (z + 5) * ZONE_M2, once=True
    ),
    "all counters beyond packing": counters_from(
        ("c1", "c2", "c3"), lambda z: 20 * ZONE_M2, once=False
    ),
    "all counters at the bound": counters_from(
        ("c1", "c2", "c3"), lambda z: MAX_PEOPLE, once=False
    ),
}
# zone density: 정상, 주의 open, 경계 open; area density from the telecom estimate
LEVELS = [(0.5, 0.2), (2.3, 0.2), (3.5, 0.2), (0.5, 1.2), (2.3, 2.2)]


@pytest.mark.parametrize(("zone_per_m2", "area_per_m2"), LEVELS)
@pytest.mark.parametrize("spoil", list(SPOILS))
def test_implausible_readings_never_raise_or_escalate_a_crowd_alert(
    spoil: str, zone_per_m2: float, area_per_m2: float
) -> None:
    clean = run(steady_world(zone_per_m2, area_per_m2), MINUTES)
    dirty_world = steady_world(zone_per_m2, area_per_m2)
    SPOILS[spoil](dirty_world, zone_per_m2, area_per_m2)
    dirty = run(dirty_world, MINUTES)
    # the same crowd alerts as without the bad readings: none raised, none escalated,
    # and none silenced either
    assert raised(dirty, CROWD_RULES) == raised(clean, CROWD_RULES)
    assert raised(clean, {"data_quality"}) == []
    quality = raised(dirty, {"data_quality"})
    assert quality and all(kind == "Fire" for _, kind, _ in quality)
    key = f"{AREA}:data_quality" if spoil.startswith("telecom") else f"{AREA}/{ZONE}:data_quality"
    assert key in {k for k, _, _ in quality}


def test_the_data_quality_alert_says_why_and_clears_when_the_input_is_sane_again() -> None:
    world = steady_world(0.5, 0.2)
    for m in (10, 11):
        _replace(world, m, counter(m, "c2", MAX_PEOPLE))
    decisions = run(world, 30)
    quality = [d for d in decisions if d.rule.value == "data_quality" and not isinstance(d, str)]
    assert [type(d).__name__ for d in quality if not isinstance(d, Fire | Escalate)][-1:] == [
        "Resolve"
    ]
    fire = next(d for d in quality if isinstance(d, Fire))
    assert "beyond packing" in fire.reason and "zone_counter:c2" in fire.reason


# -- dropouts, outages and cold starts -----------------------------------------------------


@dataclass(frozen=True)
class Pair:
    low_per_m2: float
    high_per_m2: float
    stops: str  # "low" or "high": the counter that goes quiet
    at: int  # minute it stops
    m2: float = ZONE_M2


def pair_world(p: Pair, minutes: int) -> World:
    world: World = {}
    for m in range(minutes):
        events: list[CityEvent] = [telecom(m, 0.2)] if m % 5 == 0 else []
        for cid, per_m2 in (("low", p.low_per_m2), ("high", p.high_per_m2)):
            if cid == p.stops and m >= p.at:
                continue
            events.append(counter(m, cid, round(per_m2 * p.m2), m2=p.m2))
        world[m] = events
    return world


PAIRS = [
    Pair(low, high, stops, at, m2)
    for low, high in [(2.0, 4.5), (1.5, 3.0), (3.0, 4.8), (0.5, 4.0), (2.5, 2.9)]
    for stops in ("low", "high")
    for at in (5, 20)
    for m2 in (100.0, 400.0)
]


@pytest.mark.parametrize("pair", PAIRS, ids=str)
def test_a_counter_dropping_out_of_a_two_counter_zone_raises_no_trend_alert(pair: Pair) -> None:
    decisions = run(pair_world(pair, 60), 60)
    assert raised(decisions, TREND_RULES) == []


def noisy_world(per_m2: float, noise: float, seed: int, minutes: int, gap: range) -> World:
    rng = random.Random(seed)
    world: World = {}
    for m in range(minutes):
        if m in gap:
            continue
        level = per_m2 + (0.8 if m > gap.start and gap else 0.0)  # back at another level
        people = [round((level + rng.uniform(-noise, noise)) * ZONE_M2) for _ in range(2)]
        world[m] = [counter(m, cid, n) for cid, n in zip(("a", "b"), people, strict=True)]
        if m % 5 == 0:
            world[m].append(telecom(m, 0.2))
    return world


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("per_m2", "noise"), [(2.0, 0.4), (3.0, 0.5), (3.6, 0.3), (2.6, 0.6)])
@pytest.mark.parametrize(
    "gap", [range(0), range(12, 22), range(15, 40)], ids=["cold start", "10 min outage", "25 min"]
)
def test_a_cold_start_or_an_outage_raises_no_trend_alert(
    seed: int, per_m2: float, noise: float, gap: range
) -> None:
    decisions = run(noisy_world(per_m2, noise, seed, 45, gap), 45)
    assert raised(decisions, TREND_RULES) == []


def test_a_real_surge_still_raises_the_trend_alerts() -> None:
    """The readiness wait delays, it does not silence: a steady rise is still seen."""
    world: World = {}
    for m in range(60):
        per_m2 = 1.0 + 0.12 * m  # +1.2/m² in 10 minutes, 심각 (5/m²) at minute 34
        world[m] = [counter(m, cid, round(per_m2 * ZONE_M2)) for cid in ("a", "b")]
    rules = {k.rsplit(":", 1)[1] for k, _, _ in raised(run(world, 60, fold=False), TREND_RULES)}
    assert rules == TREND_RULES
    # As deployed the fast rise is folded into the stage alert already open (its texts
    # carry the trend): the forecast warning still comes, no second 주의, and it comes
    # as that alert's own step up to 경계 (one alert per key), not a second alert.
    deployed = [d for d in run(world, 60) if isinstance(d, Fire | Escalate)]
    assert {d.rule.value for d in deployed} & TREND_RULES == {"forecast"}
    warning = next(d for d in deployed if d.rule.value == "forecast")
    assert isinstance(warning, Escalate) and warning.dedup_key.endswith(":stage")
    assert warning.severity == Stage.ALERT
