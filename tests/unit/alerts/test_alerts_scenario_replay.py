"""Simulator scenarios through the crowd math (LiveStates) into the alert engine. Pure.

Events are folded minute by minute in event time, as the worker folds its batches; each
changed key's state goes to the engine with `now` = the end of that minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import groupby

import pytest

from alerts.rules import AlertDecision, AlertEngine, AreaInfo, Deescalate, Escalate, Fire, Resolve
from alerts.settings import AlertSettings
from citypulse.domain.korea_time import KST
from citypulse.domain.stages import NARROW_ALLEY_THRESHOLDS, Stage
from citypulse.domain.thresholds import ThresholdBook
from sensors.events import CityEvent
from sensors.registry import hotspots_by_code
from sensors.simulator import MalformedPayload, SimEvent, alley_crush, festival, simulate
from sensors.simulator.profile import load_calibration
from sensors.simulator.scenarios import normal_day
from sensors.simulator.zones import default_zones
from streams.live import LiveStates

HOTSPOTS = hotspots_by_code()
AREAS = {c: AreaInfo(c, h.name_ko, h.name_en, h.district) for c, h in HOTSPOTS.items()}


def _engine() -> AlertEngine:
    narrow = {
        (z.area_code, z.zone_id): NARROW_ALLEY_THRESHOLDS
        for z in default_zones(list(HOTSPOTS.values()), load_calibration())
        if z.narrow
    }
    return AlertEngine(AlertSettings().policy(ThresholdBook(per_zone=narrow)), AREAS)


def _minutes(events: Iterable[SimEvent]) -> Iterator[tuple[datetime, list[CityEvent]]]:
    city = (e for e in events if not isinstance(e, MalformedPayload))
    for minute, group in groupby(city, key=lambda e: e.event_time.replace(second=0, microsecond=0)):
        yield minute + timedelta(minutes=1), list(group)


def replay(events: Iterable[SimEvent]) -> list[AlertDecision]:
    live, engine, out = LiveStates(HOTSPOTS), _engine(), []
    for now, batch in _minutes(events):
        for area, zone in sorted(live.apply(batch), key=lambda k: (k[0], k[1] or "")):
            state = live.state(area, zone, now)
            if state is not None:
                out += engine.evaluate(state, now)
    return out


def _stage_changes(decisions: list[AlertDecision], key: str) -> list[tuple[str, Stage]]:
    """Changes of the stage alert of `key` ("<key>:stage"): the one alert it shares with
    the forecast warning, whichever of the two opened it."""
    keys = {key, key.removesuffix(":stage") + ":forecast"}
    return [
        (type(d).__name__, d.severity)
        for d in decisions
        if isinstance(d, Fire | Escalate | Deescalate | Resolve) and d.dedup_key in keys
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_festival_escalates_in_order_then_deescalates(seed: int) -> None:
    scenario = festival()
    events = simulate(
        scenario.only(frozenset({"POI099"})),
        datetime(2026, 6, 13, 17, 0, tzinfo=KST),
        scenario.suggested_duration,
        seed,
    )
    changes = _stage_changes(replay(events), "POI099:stage")
    ups = [s for kind, s in changes if kind in ("Fire", "Escalate")]
    higher = [s for i, s in enumerate(ups) if i == 0 or s > ups[i - 1]]
    assert higher == [Stage.CAUTION, Stage.ALERT, Stage.SERIOUS]  # 주의, 경계, 심각 in order
    # never down on the way up; a step at the same stage is the warning of 심각 on it
    assert ups == sorted(ups) and len(ups) - len(higher) <= 1
    after_peak = changes[changes.index(("Escalate", Stage.SERIOUS)) + 1 :]
    downs = [s for kind, s in after_peak if kind == "Deescalate"]
    assert downs == sorted(downs, reverse=True) and downs  # steps down, never up again
    assert after_peak[-1] == ("Resolve", downs[-1])  # and closes when the crowd has gone


@pytest.mark.parametrize("seed", [1, 2])
def test_alley_crush_alerts_on_the_zone_while_the_area_stays_low(seed: int) -> None:
    scenario = alley_crush()
    surge = scenario.surges[0]
    events = simulate(
        scenario.only(frozenset({"POI004"})),
        datetime(2026, 6, 13, 21, 0, tzinfo=KST),
        scenario.suggested_duration,
        seed,
    )
    decisions = replay(events)
    zone = _stage_changes(decisions, f"POI004/{surge.zone_id}:stage")
    assert zone[0][0] == "Fire"
    assert max(s for _, s in zone) == Stage.SERIOUS  # 심각 from 4/m² in a narrow alley
    area = _stage_changes(decisions, "POI004:stage")
    assert all(s < Stage.ALERT for _, s in area)  # the telecom average never looks like it


def test_normal_day_opens_no_flapping_alert() -> None:
    """At most one alert per area and rule in a whole simulated day, in the 8 smallest
    areas (the densest; POI115's alley hovers at 주의 over lunch)."""
    busiest = sorted(HOTSPOTS.values(), key=lambda h: h.walkable_m2)[:8]
    scenario = normal_day().only(frozenset(h.code for h in busiest))
    start = datetime(2026, 6, 12, 0, 0, tzinfo=KST)
    decisions = replay(simulate(scenario, start, timedelta(hours=24), seed=5))
    fires = Counter(d.dedup_key for d in decisions if isinstance(d, Fire))
    assert fires and all(n == 1 for n in fires.values()), fires.most_common(5)


def test_hold_time_comes_from_settings() -> None:
    rules = (
        AlertSettings(stage_hold_s=5).policy().rules_for("POI004", None, "용산구", datetime.now())
    )
    assert rules.stage.hold_s == 5
    assert replace(rules.stage, hold_s=60) == AlertSettings().policy().defaults.stage
    assert rules.stage.clear_hold_s == 1800  # the deployment default, see AlertSettings
