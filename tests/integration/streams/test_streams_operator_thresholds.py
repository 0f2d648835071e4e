"""Thresholds and event days saved through the dashboard's store layer reach the running
worker: the published stage of an area changes and the alert engine fires at the lower
density, without a restart."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from citypulse.cli.stack import import_areas
from citypulse.config import StackSettings
from citypulse.domain.stages import StageThresholds
from citypulse.domain.threshold_reader import ThresholdSource
from dashboard_api.store import areas as area_store
from dashboard_api.store import operations as ops_store
from sensors.events import PopulationEstimate
from sensors.publisher import KafkaEventPublisher
from sensors.registry import hotspots_by_code
from tests.integration.support import WorkerFactory, read_topic, topic_names, wait_for

pytestmark = pytest.mark.integration
RAISED = "POI047"  # its own stricter thresholds: 경계 density becomes 심각
FESTIVAL = "POI014"  # an event day: 관심 density (no alert by default) becomes 심각
DENSITY = {RAISED: 2.5, FESTIVAL: 1.8}
AREA_BOUNDS = {"attention": 0.5, "caution": 1.0, "alert": 1.5, "serious": 2.0}
EVENT_BOUNDS = {"attention": 0.5, "caution": 1.0, "alert": 1.5, "serious": 1.7}
FAST = {
    "CITYPULSE_THRESHOLDS_RELOAD_S": "0.5",
    "CITYPULSE_STATE_REFRESH_S": "0.5",
    "CITYPULSE_ALERT_STAGE_HOLD_S": "0",  # fire on the first state: the test is about bounds
}


def _population(area: str, i: int, t: datetime) -> PopulationEstimate:
    people = round(DENSITY[area] * hotspots_by_code()[area].walkable_m2)
    return PopulationEstimate(
        event_id=f"thr-{area}-{i}", source="test", event_time=t, ingest_time=t,
        area_code=area, people_min=people - 10, people_max=people + 10,
    )  # fmt: skip


def _latest_stage(settings: StackSettings, area: str, wanted: str) -> str | None:
    """The stage of the newest state of `area` once one says `wanted` (or at timeout)."""

    def stages(ms: list[Any]) -> list[str]:
        return [json.loads(m.value)["stage"] for m in ms if m.key.decode() == area]

    topic = topic_names(settings)["area-state.v1"]
    msgs = read_topic(
        settings.kafka_bootstrap, topic, lambda ms: wanted in stages(ms), timeout_s=60
    )
    seen = stages(msgs)
    return seen[-1] if seen else None


def _stage_alert(db: psycopg.Connection[Any], area: str) -> tuple[Any, ...] | None:
    return db.execute(
        "SELECT stage, profile FROM alerts WHERE dedup_key = %s AND status = 'open'",
        (f"{area}:stage",),
    ).fetchone()


async def _save(settings: StackSettings, now: datetime) -> None:
    """What PUT /config/thresholds/{code} and POST /config/event-days store."""
    async with await psycopg.AsyncConnection.connect(settings.db_conninfo) as conn:
        assert await area_store.set_area_thresholds(conn, RAISED, json.dumps(AREA_BOUNDS))
        await ops_store.create_event_day(
            conn, name="테스트 축제", starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=1), thresholds=EVENT_BOUNDS,
            area_codes=[FESTIVAL], created_by="test",
        )  # fmt: skip
        await conn.commit()


def test_saved_thresholds_change_stage_and_alerts(
    isolated: StackSettings,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[Any],
) -> None:
    import_areas(isolated)
    now = datetime.now(UTC).replace(microsecond=0)
    pub = KafkaEventPublisher(isolated.kafka_bootstrap, topic_names(isolated)["city-events.v1"])
    for area in DENSITY:
        for i in range(3):
            pub.publish(_population(area, i, now - timedelta(minutes=3 - i)))
    pub.close()
    worker_factory(**FAST)

    # Defaults: 2.5/m² is 주의 (an alert at 주의), 1.8/m² is 관심 (shown, no alert).
    assert _latest_stage(isolated, RAISED, "caution") == "caution"
    assert _latest_stage(isolated, FESTIVAL, "attention") == "attention"
    wait_for(lambda: _stage_alert(db, RAISED) == ("caution", None), 60, "the 주의 alert")
    assert _stage_alert(db, FESTIVAL) is None

    asyncio.run(_save(isolated, now))

    # Same densities, no new input: only the saved bounds can make these 심각.
    assert _latest_stage(isolated, RAISED, "serious") == "serious"
    assert _latest_stage(isolated, FESTIVAL, "serious") == "serious"
    wait_for(lambda: _stage_alert(db, RAISED) == ("serious", None), 60, "the escalation")
    wait_for(
        lambda: _stage_alert(db, FESTIVAL) == ("serious", "테스트 축제"),
        60,
        "the event-day alert",
        explain=lambda: repr(_stage_alert(db, FESTIVAL)),
    )


def test_threshold_source_survives_a_dropped_connection(
    isolated: StackSettings, db: psycopg.Connection[Any]
) -> None:
    import_areas(isolated)
    bounds = json.dumps(AREA_BOUNDS)
    db.execute("UPDATE areas SET thresholds = %s WHERE code = %s", (bounds, RAISED))
    source = ThresholdSource(isolated.db_conninfo)
    now = datetime.now(UTC)
    assert source.load(now).resolve(RAISED, None, now).origin == "area"
    # The server drops the session (restart, failover): this read fails, the caller keeps
    # its previous book, and the next read connects afresh.
    assert source._conn is not None
    db.execute("SELECT pg_terminate_backend(%s)", (source._conn.info.backend_pid,))
    with pytest.raises(psycopg.Error):
        source.load(now)
    assert source.load(now).per_area == {RAISED: StageThresholds(**AREA_BOUNDS)}
    source.close()
