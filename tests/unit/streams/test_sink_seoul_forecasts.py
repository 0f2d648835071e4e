"""The forecast the worker stores per area: Seoul's, from the newest estimate carrying one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sensors.adapters.seoul_citydata import ParsedLivePopulation
from sensors.adapters.seoul_citydata_xml import parse_citydata_xml
from sensors.events import ForecastPoint, PopulationEstimate, decode_event, encode_event
from streams.sink import newest_seoul_forecasts

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "sensors" / "citydata_poi009_live.xml"
AT = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)


def _estimate(area: str, minutes: int, people: tuple[int, ...]) -> PopulationEstimate:
    at = AT + timedelta(minutes=minutes)
    points = tuple(
        ForecastPoint(time=at + timedelta(hours=h + 1), people_min=p, people_max=p + 100)
        for h, p in enumerate(people)
    )
    return PopulationEstimate(
        event_id=f"{area}-{minutes}", source="test", event_time=at, ingest_time=at,
        area_code=area, people_min=1, people_max=2, forecast=points,
    )  # fmt: skip


def test_recorded_reply_forecast_survives_the_wire_and_is_stored_whole() -> None:
    (parsed,) = parse_citydata_xml(FIXTURE.read_text(encoding="utf-8"))
    assert isinstance(parsed, ParsedLivePopulation)
    event = decode_event(encode_event(parsed.estimate))
    (stored,) = newest_seoul_forecasts([event])
    assert stored.area_code == "POI009" and stored.source == "seoul_citydata"
    assert stored.issued_at == parsed.estimate.event_time
    assert len(stored.points) == 12
    first, last = stored.points[0], stored.points[-1]
    assert (first.people_min, first.people_max, first.congestion_level) == (6000, 6500, "여유")
    assert last.time - first.time == timedelta(hours=11)


def test_newest_estimate_with_a_forecast_wins_per_area() -> None:
    older = _estimate("POI009", 0, (100, 200))
    newer = _estimate("POI009", 5, (300,))
    other = _estimate("POI014", 0, (50,))
    without = _estimate("POI009", 10, ())  # no forecast: leaves the stored one alone
    got = {f.area_code: f for f in newest_seoul_forecasts([newer, other, older, without])}
    assert got["POI009"].issued_at == newer.event_time
    assert [p.people_min for p in got["POI009"].points] == [300]
    assert [p.people_min for p in got["POI014"].points] == [50]


def test_no_forecast_no_rows() -> None:
    assert newest_seoul_forecasts([_estimate("POI009", 0, ())]) == []
