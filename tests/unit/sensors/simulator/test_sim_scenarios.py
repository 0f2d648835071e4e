import itertools
from collections import Counter
from datetime import datetime, timedelta

import pytest

from citypulse.domain.korea_time import KST
from citypulse.domain.stages import DEFAULT_THRESHOLDS, Stage, stage_for_density
from sensors.events import (
    CityEvent,
    EnvironmentReading,
    EventDecodeError,
    PopulationEstimate,
    ZoneCount,
    decode_event,
)
from sensors.registry import hotspots_by_code
from sensors.simulator import DEFECT_KINDS, alley_crush, festival, sensor_faults, simulate
from sensors.simulator.api import SimEvent
from sensors.simulator.records import MalformedPayload
from sensors.simulator.scenarios import Surge

EVENING = datetime(2026, 6, 13, 17, 0, tzinfo=KST)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(0, 0.0), (10, 0.5), (20, 1.0), (40, 1.0), (45, 0.5), (50, 0.0), (60, 0.0)],
)
def test_surge_envelope(minutes: int, expected: float) -> None:
    surge = Surge(
        "POI004",
        None,
        timedelta(0),
        timedelta(minutes=20),
        timedelta(minutes=20),
        timedelta(minutes=10),
        5.0,
    )
    assert surge.envelope(timedelta(minutes=minutes)) == pytest.approx(expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_festival_passes_caution_alert_serious_in_order(seed: int) -> None:
    scenario = festival()
    area = hotspots_by_code()["POI099"]
    stages = [
        stage_for_density(e.people / area.walkable_m2, DEFAULT_THRESHOLDS)
        for e in simulate(
            scenario.only(frozenset({"POI099"})), EVENING, scenario.suggested_duration, seed
        )
        if isinstance(e, PopulationEstimate)
    ]
    first = {s: stages.index(s) for s in (Stage.CAUTION, Stage.ALERT, Stage.SERIOUS)}
    assert first[Stage.CAUTION] < first[Stage.ALERT] < first[Stage.SERIOUS]
    assert stages[0] == Stage.NORMAL
    assert stages[-1] == Stage.NORMAL  # and it empties again


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alley_crush_hidden_from_telecom(seed: int) -> None:
    scenario = alley_crush()
    surge = scenario.surges[0]
    area = hotspots_by_code()["POI004"]
    events = list(
        simulate(
            scenario.only(frozenset({"POI004"})),
            datetime(2026, 6, 13, 21, 0, tzinfo=KST),
            scenario.suggested_duration,
            seed,
        )
    )
    alley = [e for e in events if isinstance(e, ZoneCount) and e.zone_id == surge.zone_id]
    ramp_start = alley[0].event_time + surge.start_after
    crushed = [e.event_time for e in alley if e.count / e.walkable_m2 > 6.0]
    assert crushed, "the alley never passed 6 persons/m²"
    assert crushed[0] - ramp_start <= timedelta(minutes=30)
    telecom = [e for e in events if isinstance(e, PopulationEstimate)]
    assert max(e.people / area.walkable_m2 for e in telecom) < DEFAULT_THRESHOLDS.alert


def _fault_run() -> list[SimEvent]:
    scenario = sensor_faults()
    return list(
        simulate(
            scenario, datetime(2026, 6, 10, 8, 0, tzinfo=KST), scenario.suggested_duration, seed=4
        )
    )


def test_faults_yield_every_defect_and_decode_rejects_each() -> None:
    malformed = [e for e in _fault_run() if isinstance(e, MalformedPayload)]
    assert sorted(m.defect for m in malformed) == sorted(DEFECT_KINDS)
    reasons = {}
    for m in malformed:
        with pytest.raises(EventDecodeError) as err:
            decode_event(m.value)
        reasons[m.defect] = err.value.reason
    assert reasons == {
        "not_json": "not_json",
        "unknown_kind": "unknown_kind",
        "missing_field": "schema",
        "negative_count": "schema",
        "wrong_type": "schema",
        "far_future_time": "schema",
        "unknown_area": "schema",
        "oversized": "oversized",
    }


def test_device_faults_show_in_the_stream() -> None:
    events: list[CityEvent] = [e for e in _fault_run() if not isinstance(e, MalformedPayload)]
    ids = Counter(e.event_id for e in events)
    dup_areas = {e.area_code for e in events if ids[e.event_id] == 2 and e.area_code}
    assert dup_areas >= {"POI014", "POI047"}
    counts = {
        e.count for e in events if isinstance(e, ZoneCount) and e.counter_id == "POI007-Z1-cam1"
    }
    assert len(counts) < 40  # stuck for 30 of 60 minutes
    times = [e.event_time for e in events]
    assert any(b < a for a, b in itertools.pairwise(times))  # out of order / skew
    skewed = [
        e
        for e in events
        if isinstance(e, EnvironmentReading)
        and e.event_time - e.ingest_time == timedelta(minutes=10)
    ]
    assert skewed
    assert {e.sensor_id for e in skewed} == {"V02Q1940612"}
    dropped = [e for e in events if isinstance(e, ZoneCount) and e.counter_id == "POI014-Z1-cam1"]
    assert len(dropped) == 60 - 20
