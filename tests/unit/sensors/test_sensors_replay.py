from __future__ import annotations

import math
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from citypulse.domain.korea_time import KST
from sensors.events import PopulationEstimate
from sensors.publisher import ListSink
from sensors.replay import load_recorded_logs, merge_by_event_time, pacing_plan, parse_speed, replay

T0 = datetime(2026, 6, 4, 8, 0, tzinfo=KST)


def _est(area: str, minutes: int, source: str = "s") -> PopulationEstimate:
    when = T0 + timedelta(minutes=minutes)
    return PopulationEstimate(
        event_id=f"{source}:{area}:{when.isoformat()}",
        source=source,
        event_time=when,
        ingest_time=when,
        area_code=area,
        people_min=1,
        people_max=2,
    )


@pytest.mark.parametrize(
    ("text", "speed"), [("60x", 60.0), ("1", 1.0), ("2.5x", 2.5), ("max", math.inf)]
)
def test_parse_speed(text: str, speed: float) -> None:
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0x", "-3", "fast"])
def test_parse_speed_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_speed(text)


@pytest.mark.parametrize(
    ("minutes", "speed", "max_gap", "plan"),
    [
        ([], 60.0, None, []),
        ([0, 5, 5, 65], 60.0, None, [0.0, 5.0, 5.0, 65.0]),  # 1 event minute = 1 wall second
        ([0, 60, 600], 60.0, 30.0, [0.0, 30.0, 60.0]),  # long gaps cut to 30 s
        ([0, 10, 5], 60.0, None, [0.0, 10.0, 10.0]),  # backwards: at once, never earlier
        ([0, 10, 20], math.inf, None, [0.0, 0.0, 0.0]),
    ],
)
def test_pacing_plan(
    minutes: list[int], speed: float, max_gap: float | None, plan: list[float]
) -> None:
    times = [T0 + timedelta(minutes=m) for m in minutes]
    assert pacing_plan(times, speed, max_gap_s=max_gap) == pytest.approx(plan)


def test_merge_orders_and_drops_repeated_ids() -> None:
    a = [_est("POI002", 10), _est("POI001", 0)]
    b = [_est("POI003", 5), _est("POI001", 0)]
    dups: list[str] = []
    merged = list(merge_by_event_time(a, b, duplicates=dups))
    assert [(e.area_code, e.event_time.minute) for e in merged] == [
        ("POI001", 0),
        ("POI003", 5),
        ("POI002", 10),
    ]
    assert dups == [_est("POI001", 0).event_id]


def test_replay_loop_sleeps_on_plan_and_restamps() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    sink = ListSink()
    stamp = datetime(2030, 1, 1, tzinfo=KST)
    sent = replay(
        [_est("POI001", 0), _est("POI001", 5), _est("POI001", 65)],
        sink,
        speed=60.0,
        clock=lambda: now[0],
        sleep=sleep,
        restamp=lambda: stamp,
    )
    assert sent == 3 and slept == pytest.approx([5.0, 60.0])
    assert all(e.ingest_time == stamp for e in sink.events)


def test_hourly_log_replays_every_row_exactly_once_in_event_time_order(seoul_data: Path) -> None:
    """Must-show: count == valid rows, sorted by event_time, no duplicate event_id."""
    events, rejects = load_recorded_logs(
        hourly_csv=seoul_data / "citydata_hourly_121" / "seoul_population_log.csv"
    )
    sink = ListSink()
    sent = replay(events, sink, speed=math.inf, sleep=lambda s: None)
    valid_rows = 18639 - 9 - 462  # empty replies; areas without a registry polygon
    assert sent == len(sink.events) == valid_rows
    times = [e.event_time for e in sink.events]
    assert times == sorted(times)
    assert len({e.event_id for e in sink.events}) == valid_rows
    assert len(rejects) == 9 + 462 and not any(r.field == "event_id" for r in rejects)
    first = sink.events[0]
    assert first.event_id == "seoul_hourly_log:POI001:2026-06-04T08:20:00+09:00"


def test_both_logs_merge(seoul_data: Path) -> None:
    folder = seoul_data / "population_5min_113"
    events, _ = load_recorded_logs(
        hourly_csv=seoul_data / "citydata_hourly_121" / "seoul_population_log.csv",
        five_min_json=folder / "ppldata.json",
        places_csv=folder / "places.csv",
    )
    assert len(events) == 18168 + 35776  # 5-min: 104 of 113 areas x 344 polls
    assert events[0].source == "seoul_5min_log" and events[-1].source == "seoul_hourly_log"
    assert all(a.event_time <= b.event_time for a, b in pairwise(events))
