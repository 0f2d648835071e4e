"""Seoul's 12-hour forecast from a recorded citydata reply reaches the API: adapter, the
city-events topic, the real worker, the seoul_forecasts table and the area detail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from sensors.adapters import iter_citydata_json, iter_citydata_xml
from sensors.events import PopulationEstimate
from sensors.publisher import KafkaEventPublisher
from tests.integration.dashboard_api.conftest import ApiStack
from tests.integration.support import WorkerFactory, topic_names, wait_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sensors"
# The replies are from March 2026: the worker is told to take readings that old.
OLD_ENOUGH = str(400 * 24 * 3600)


def _estimate(events: list[Any]) -> PopulationEstimate:
    (event,) = events
    assert isinstance(event, PopulationEstimate)
    return event


def _detail(api: ApiStack) -> dict[str, Any]:
    r = httpx.get(f"{api.base}/api/v1/areas/POI009", timeout=10)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_recorded_forecast_reaches_the_area_detail_newest_first(
    api_stack: ApiStack,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    # 23:30 KST with all 12 points, and 23:25 with two: sent newest first, so the older
    # one arrives last and must not replace it.
    xml = (FIXTURES / "citydata_poi009_live.xml").read_text(encoding="utf-8")
    newer = _estimate(list(iter_citydata_xml(xml)))
    older = _estimate(
        list(iter_citydata_json((FIXTURES / "citydata_ppltn_reply.json").read_text()))
    )
    assert older.event_time < newer.event_time and len(newer.forecast) == 12
    assert _detail(api_stack)["seoul_forecast"] is None

    hostile = json.loads(newer.model_dump_json()) | {"event_id": "hostile-forecast"}
    hostile["forecast"][3]["people_min"] = 10**9  # more people than Seoul has
    pub = KafkaEventPublisher(
        api_stack.settings.kafka_bootstrap, topic_names(api_stack.settings)["city-events.v1"]
    )
    pub.publish(newer)
    pub.publish(older)
    pub.publish_raw(b"POI009", json.dumps(hostile, ensure_ascii=False).encode())
    pub.close()
    # The minute stats must outlive the accepted event age by two days (the settings check).
    worker_factory(CITYPULSE_MAX_EVENT_AGE_S=OLD_ENOUGH, CITYPULSE_RETENTION_STATS_1M_DAYS="800")

    def stored() -> bool:
        row = db.execute("SELECT coalesce(sum(next_offset), 0) FROM stream_offsets").fetchone()
        return row is not None and int(str(row[0])) == 3

    wait_for(stored, 90, "the worker to store the three records")
    assert dict(db.execute("SELECT reason, count FROM dead_letter_counts").fetchall()) == {
        "schema": 1
    }

    forecast = _detail(api_stack)["seoul_forecast"]
    assert forecast["source"] == "seoul_citydata"
    assert datetime.fromisoformat(forecast["issued_at"]) == newer.event_time
    points = forecast["points"]
    assert len(points) == 12
    assert [datetime.fromisoformat(p["time"]) for p in points] == [p.time for p in newer.forecast]
    assert points[0] == {
        "time": points[0]["time"],
        "people_min": 6000,
        "people_max": 6500,
        "congestion_level": "여유",
    }
    assert datetime.fromisoformat(points[0]["time"]).astimezone(UTC).hour == 15  # 00:00 KST
    assert {p["congestion_level"] for p in points} <= {"여유", "보통", "약간 붐빔", "붐빔"}
