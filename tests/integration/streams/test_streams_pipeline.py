"""Produce with kafka-python, consume with the real Faust worker, check database and topics."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg

from citypulse.config import StackSettings
from sensors.events import PopulationEstimate, ZoneCount
from sensors.publisher import KafkaEventPublisher
from sensors.registry import hotspots_by_code
from streams.batch import bucket_of
from tests.integration.support import WorkerFactory, read_topic, topic_names, wait_for

AREAS = ["POI009", "POI014", "POI047", "POI055", "POI004"]


def _population(area: str, i: int, t: datetime) -> PopulationEstimate:
    return PopulationEstimate(
        event_id=f"it-{area}-{i}", source="test", event_time=t, ingest_time=t,
        area_code=area, people_min=10_000 + 10 * i, people_max=11_000 + 10 * i,
    )  # fmt: skip


def test_worker_stores_what_was_produced_and_publishes_matching_state(
    isolated: StackSettings,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    topics = topic_names(isolated)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    produced = [
        _population(area, i, start + timedelta(seconds=7 * i)) for area in AREAS for i in range(40)
    ]
    zone = ZoneCount(
        event_id="it-zone-1", source="test", event_time=start, ingest_time=start,
        area_code="POI047", zone_id="exit-1", counter_id="cctv-1", count=1600, walkable_m2=400.0,
    )  # fmt: skip
    pub = KafkaEventPublisher(isolated.kafka_bootstrap, topics["city-events.v1"])
    for ev in produced:
        pub.publish(ev)
    pub.publish(zone)
    pub.publish_raw(b"POI014", b"{this is not json")
    pub.publish_raw(b"POI014", json.dumps({"kind": "population_estimate"}).encode())
    pub.close()

    worker_factory()
    total = len(produced) + 3

    def stored() -> bool:
        row = db.execute("SELECT coalesce(sum(next_offset), 0) FROM stream_offsets").fetchone()
        return row is not None and int(str(row[0])) == total

    wait_for(stored, 90, "the worker to store every record")

    # 1-minute rows equal what was produced, window by window.
    expected = Counter((e.area_code, bucket_of(e.event_time)) for e in produced)
    rows = db.execute(
        "SELECT area_code, bucket, samples, people_max FROM crowd_stats_1m WHERE source = 'telecom'"
    ).fetchall()
    assert {(a, b): int(str(n)) for a, b, n, _ in rows} == dict(expected)
    for area, bucket, _, people_max in rows:
        in_window = [
            e.people for e in produced if e.area_code == area and bucket_of(e.event_time) == bucket
        ]
        assert people_max == max(in_window)
    zone_rows = db.execute(
        "SELECT samples, people_last, walkable_m2 FROM crowd_stats_1m WHERE zone_id = 'exit-1'"
    ).fetchall()
    assert zone_rows == [(1, 1600.0, 400.0)]
    assert db.execute("SELECT count(*) FROM crowd_readings").fetchone() == (len(produced) + 1,)
    dead = dict(db.execute("SELECT reason, count FROM dead_letter_counts").fetchall())
    assert dead == {"not_json": 1, "schema": 1}

    # The area-state message of each area carries its latest count and density.
    hotspots = hotspots_by_code()
    want_keys = set(AREAS) | {"POI047/exit-1"}
    msgs = read_topic(
        isolated.kafka_bootstrap, topics["area-state.v1"],
        lambda ms: want_keys <= {m.key.decode() for m in ms},  # type: ignore[attr-defined]
    )  # fmt: skip
    latest = {m.key.decode(): json.loads(m.value) for m in msgs}  # type: ignore[attr-defined]
    for area in AREAS:
        last = max((e for e in produced if e.area_code == area), key=lambda e: e.event_time)
        state = latest[area]
        assert state["people"] == last.people
        assert abs(state["density_per_m2"] - last.people / hotspots[area].walkable_m2) < 1e-3
        assert datetime.fromisoformat(state["as_of"]) == last.event_time
    assert latest["POI047/exit-1"]["density_per_m2"] == 4.0
    assert latest["POI047/exit-1"]["stage"] == "alert"

    # Malformed input is in the dead-letter topic with a reason, original bytes intact.
    dl = read_topic(isolated.kafka_bootstrap, topics["dead-letter.v1"], lambda ms: len(ms) >= 2)
    reasons = {dict(m.headers)["reason"].decode(): m.value for m in dl}  # type: ignore[attr-defined]
    assert reasons["not_json"] == b"{this is not json"
    assert "schema" in reasons
