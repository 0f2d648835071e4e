"""The simulator sends a Seoul-style 12-hour forecast, so the demo shows one at once."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np

from citypulse.domain.comfort import COMFORT_LEVELS
from citypulse.domain.korea_time import KST
from sensors.events import PopulationEstimate
from sensors.simulator import normal_day, simulate
from sensors.simulator.engine import FORECAST_EVERY_MIN, FORECAST_HOURS, CitySimulator

AREAS = ("POI009", "POI014", "POI047")
START = datetime(2026, 6, 10, 8, 7, tzinfo=KST)  # mid-hour: the first forecast comes at once


def _estimates(minutes: int) -> list[PopulationEstimate]:
    run = simulate(normal_day().only(AREAS), START, timedelta(minutes=minutes), seed=3)
    return [e for e in run if isinstance(e, PopulationEstimate)]


def test_first_reading_of_each_area_carries_a_forecast_then_every_half_hour() -> None:
    by_area: dict[str, list[PopulationEstimate]] = defaultdict(list)
    for e in _estimates(90):
        by_area[e.area_code].append(e)
    assert set(by_area) == set(AREAS)
    for estimates in by_area.values():
        assert estimates[0].forecast
        later = [e.event_time.minute for e in estimates[1:] if e.forecast]
        assert later and all(m % FORECAST_EVERY_MIN == 0 for m in later)
        assert any(not e.forecast for e in estimates)  # not on every 5-minute reading


def test_forecast_is_the_next_whole_hours_with_plausible_ranges_and_labels() -> None:
    for e in _estimates(10):
        if not e.forecast:
            continue
        times = [p.time for p in e.forecast]
        assert len(times) == FORECAST_HOURS
        assert times[0] > e.event_time and times[0] - e.event_time <= timedelta(hours=1)
        assert all(b - a == timedelta(hours=1) for a, b in pairwise(times))
        assert all(t.minute == 0 for t in times)
        for p in e.forecast:
            assert 0 < p.people_min < p.people_max <= 1.3 * p.people_min
            assert p.congestion_level in COMFORT_LEVELS
        # An hour ahead, Seoul's forecast is near what is measured now (no surge here).
        assert 0.3 < e.forecast[0].people_min / e.people_min < 3.0


def test_a_stuck_telecom_feed_repeats_its_reading_but_not_an_old_forecast() -> None:
    from sensors.simulator.faults import DeviceFault, FaultInjector, FaultPlan

    fault = DeviceFault("stuck", "POI009", timedelta(0), timedelta(hours=2))
    sim = CitySimulator(normal_day().only(AREAS), START, seed=3)
    injector = FaultInjector(FaultPlan(device_faults=(fault,)), sim.start, np.random.default_rng(1))
    stuck = [
        em
        for em in injector.apply(sim.emissions(timedelta(minutes=60)))
        if em.kind == "population_estimate" and em.device_id == "POI009"
    ]
    assert len({em.values[:3] for em in stuck}) == 1  # the reading is stuck
    forecasts = [em.values[3] for em in stuck if len(em.values) > 3]
    assert len(set(forecasts)) == len(forecasts) > 1  # each forecast is the current one
