"""`citypulse backfill` of excerpts of both recorded logs beside a running live worker."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from citypulse.config import REPO_ROOT, StackSettings
from dashboard_api.store.history import TABLES, Resolution, crowd_history
from sensors.events import PopulationEstimate, encode_event
from sensors.publisher import KafkaEventPublisher
from sensors.registry import hotspots_by_code
from streams.backfill import BACKFILL_POLICY, read_log
from streams.batch import BatchProcessor, RawRecord, bucket_of
from streams.sink import PostgresBatchStore
from tests.integration.support import WorkerFactory, read_topic, run_cli, topic_names, wait_for

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "streams"
LOGS = [FIXTURES / "hourly_log_excerpt.csv", FIXTURES / "ppldata_excerpt.json"]
ALERT_TABLES = ["alerts", "alert_audit", "alert_notifications", "sms_outbox"]
LIVE_AREA = "POI014"  # in neither excerpt


def _snapshot(db: psycopg.Connection[tuple[object, ...]]) -> dict[str, list[tuple[object, ...]]]:
    # The first five columns order every row: the window key, or area..event_id.
    query = sql.SQL("SELECT * FROM {} ORDER BY 1, 2, 3, 4, 5")
    names = [*TABLES.values(), "crowd_readings"]
    return {name: db.execute(query.format(sql.Identifier(name))).fetchall() for name in names}


def _history(
    settings: StackSettings, area: str | None, resolution: Resolution
) -> list[dict[str, Any]]:
    assert area is not None

    async def read() -> list[dict[str, Any]]:
        async with await psycopg.AsyncConnection.connect(settings.db_conninfo) as conn:
            start = datetime(2020, 1, 1, tzinfo=UTC)
            return await crowd_history(conn, area, "", resolution, start, datetime.now(UTC))

    return asyncio.run(read())


def _count(db: psycopg.Connection[tuple[object, ...]], query: str | sql.Composed) -> int:
    row = db.execute(query).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_backfill_stores_history_once_and_leaves_the_live_path_alone(
    isolated: StackSettings,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    per_file = {path: read_log(path)[0] for path in LOGS}
    expected = [e for events in per_file.values() for e in events]
    by_area = Counter(e.area_code for e in expected)
    # Both logs, and the former names mapped: 쌍문동 맛집거리 and 홍대입구역 9번 출구 (2023),
    # 잠실롯데타워·석촌호수 (2026 API name).
    assert {"POI009", "POI001", "POI120", "POI055", "POI070"} <= set(by_area)

    worker_factory()
    wait_for(lambda: _count(db, "SELECT count(*) FROM worker_heartbeats") > 0, 90, "the worker")

    first = run_cli(isolated, "backfill", *map(str, LOGS))
    assert first.returncode == 0, first.stderr[-2000:]
    for path, events in per_file.items():
        assert f"backfilled {path}: {len(events)} readings" in first.stdout
        assert f" {len(events)} stored, 0 counted" in first.stdout

    # Raw rows: every reading once.
    rows = db.execute("SELECT event_id, area_code FROM crowd_readings").fetchall()
    assert sorted(str(r[0]) for r in rows) == sorted(e.event_id for e in expected)
    # 1-minute windows and every rollup the history API reads hold each reading once.
    windows = Counter((e.area_code, bucket_of(e.event_time.astimezone(UTC))) for e in expected)
    stats = db.execute(
        "SELECT area_code, bucket, samples FROM crowd_stats_1m WHERE source = 'telecom'"
    ).fetchall()
    assert {(str(a), b): int(str(n)) for a, b, n in stats} == dict(windows)
    for area, n in by_area.items():
        for resolution in ("1m", "15m", "1h", "1d"):
            served = _history(isolated, area, resolution)
            assert sum(int(r["samples"]) for r in served) == n, (area, resolution)
    gwanghwamun = [
        e for e in expected if isinstance(e, PopulationEstimate) and e.area_code == "POI009"
    ]
    hourly = _history(isolated, "POI009", "1h")
    assert max(r["people_max"] for r in hourly) == max(e.people for e in gwanghwamun)

    # The second load changes nothing.
    before = _snapshot(db)
    second = run_cli(isolated, "backfill", *map(str, LOGS))
    assert second.returncode == 0, second.stderr[-2000:]
    for events in per_file.values():
        assert f" 0 stored, 0 counted into their 1-minute windows, {len(events)} already" in (
            second.stdout
        )
    assert _snapshot(db) == before

    # The live worker is running and working, and saw none of it.
    now = datetime.now(UTC)
    live = PopulationEstimate(
        event_id="it-live-1", source="test", event_time=now, ingest_time=now,
        area_code=LIVE_AREA, people_min=1000, people_max=1100,
    )  # fmt: skip
    topics = topic_names(isolated)
    pub = KafkaEventPublisher(isolated.kafka_bootstrap, topics["city-events.v1"])
    pub.publish(live)
    pub.close()
    states = read_topic(
        isolated.kafka_bootstrap, topics["area-state.v1"],
        lambda ms: any(m.key == LIVE_AREA.encode() for m in ms), timeout_s=60,  # type: ignore[attr-defined]
    )  # fmt: skip
    keys = {m.key.decode() for m in states}  # type: ignore[attr-defined]
    assert LIVE_AREA in keys
    assert not keys & set(by_area), "a backfilled area reached the live state"
    published = read_topic(isolated.kafka_bootstrap, topics["city-events.v1"], lambda ms: False, 3)
    assert len(published) == 1  # the live event only: the backfill never went through Kafka

    offsets = db.execute("SELECT consumer, topic FROM stream_offsets").fetchall()
    assert all(str(topic) == topics["city-events.v1"] for _, topic in offsets)
    assert not [c for c, _ in offsets if str(c).startswith("backfill")]
    assert _count(db, "SELECT count(*) FROM dead_letter_counts") == 0
    for table in ALERT_TABLES:
        count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        assert _count(db, count) == 0, table


def test_backfill_counts_readings_a_replay_stored_raw_but_dead_lettered(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    # What `citypulse replay` of an old log into a live stack leaves: raw rows whose
    # windows were never counted (dead-lettered as too late).
    path = FIXTURES / "ppldata_excerpt.json"
    events = read_log(path)[0]
    records = [RawRecord("replayed", 0, i, None, encode_event(e)) for i, e in enumerate(events)]
    replayed = BatchProcessor(hotspots_by_code(), BACKFILL_POLICY).process(
        records, {}, datetime.now(UTC)
    )
    replayed.stats.clear()
    store = PostgresBatchStore(isolated.db_conninfo, "replay-sim")
    store.write(replayed)
    store.close()
    assert _count(db, "SELECT count(*) FROM crowd_stats_1m") == 0

    done = run_cli(isolated, "backfill", str(path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f" 0 stored, {len(events)} counted into their 1-minute windows" in done.stdout
    assert _count(db, "SELECT count(*) FROM crowd_readings") == len(events)  # no second row
    windows = Counter((e.area_code, bucket_of(e.event_time.astimezone(UTC))) for e in events)
    stats = db.execute("SELECT area_code, bucket, samples FROM crowd_stats_1m").fetchall()
    assert {(str(a), b): int(str(n)) for a, b, n in stats} == dict(windows)
    assert _count(db, "SELECT sum(samples) FROM crowd_stats_1h") == len(events)

    again = run_cli(isolated, "backfill", str(path))
    assert f" 0 stored, 0 counted into their 1-minute windows, {len(events)} already" in (
        again.stdout
    )
