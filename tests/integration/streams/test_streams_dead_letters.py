"""10,000 malformed payloads of every kind inside an hour of faulty city: each one in the
dead-letter topic with its reason, the worker up, every valid event around them counted.
A dead letter carries the original bytes, cut to 64 KiB for an oversized one (which says
so in its `truncated` header)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from citypulse.config import StackSettings
from sensors.events import EventDecodeError, ZoneCount, decode_event
from sensors.simulator import DEFECT_KINDS, sensor_faults, simulate_encoded
from sensors.simulator.bulk_publisher import publish_encoded
from sensors.simulator.faults import FaultPlan, MalformedAt
from sensors.simulator.scenarios import Scenario
from streams.batch import DEAD_LETTER_MAX_VALUE
from tests.integration.streams.load import (
    committed,
    expected_windows,
    progress,
    reading_rows,
    stored_windows,
)
from tests.integration.support import WorkerFactory, read_topic, topic_names, wait_for

pytestmark = pytest.mark.integration
MALFORMED = 10_000
# docs/simulator.md: the reason decode_event gives each defect.
REASON_OF_DEFECT = {
    "not_json": "not_json",
    "unknown_kind": "unknown_kind",
    "missing_field": "schema",
    "negative_count": "schema",
    "wrong_type": "schema",
    "far_future_time": "schema",
    "unknown_area": "schema",
    "oversized": "oversized",
}
MAX_DENSITY = 12.0  # ValidationPolicy.max_density_per_m2: spiked counters beyond it


def _faulty_hour() -> Scenario:
    base = sensor_faults()
    step = timedelta(minutes=50) / MALFORMED
    malformed = tuple(
        MalformedAt(DEFECT_KINDS[i % len(DEFECT_KINDS)], timedelta(minutes=5) + i * step)
        for i in range(MALFORMED)
    )
    plan = FaultPlan(device_faults=base.faults.device_faults, malformed=malformed)
    return Scenario(base.name, base.description, faults=plan)


def test_malformed_events_are_dead_lettered_and_valid_ones_all_counted(
    isolated: StackSettings,
    worker_factory: WorkerFactory,
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    pairs = list(simulate_encoded(_faulty_hour(), start, timedelta(hours=1), seed=3))
    want_dead: Counter[str] = Counter()
    malformed_bytes: Counter[bytes] = Counter()
    valid_crowd = []
    seen_ids: set[str] = set()
    for key, value in pairs:
        try:
            event = decode_event(value)
        except EventDecodeError as exc:
            want_dead[exc.reason] += 1
            malformed_bytes[value[:DEAD_LETTER_MAX_VALUE]] += 1
            continue
        if isinstance(event, ZoneCount) and event.count / event.walkable_m2 > MAX_DENSITY:
            want_dead["implausible_density"] += 1
        elif event.event_id in seen_ids:  # the scenario's duplicating devices
            want_dead["duplicate"] += 1
        else:
            seen_ids.add(event.event_id)
            if event.kind in ("population_estimate", "zone_count"):
                valid_crowd.append((key, value))
    assert want_dead["duplicate"] > 0, "the fault scenario should send some readings twice"
    malformed = sum(
        n for r, n in want_dead.items() if r not in ("implausible_density", "duplicate")
    )
    assert malformed == MALFORMED
    assert {r: want_dead[r] for r in set(REASON_OF_DEFECT.values())} == {
        r: sum(MALFORMED // len(DEFECT_KINDS) for d in DEFECT_KINDS if REASON_OF_DEFECT[d] == r)
        for r in set(REASON_OF_DEFECT.values())
    }

    topics = topic_names(isolated)
    worker = worker_factory()
    assert asyncio.run(publish_encoded(pairs, isolated.kafka_bootstrap, topics["city-events.v1"]))
    total = len(pairs)
    wait_for(lambda: committed(db) == total, 180, "every record", progress(db, total))

    assert worker.is_running(), worker.log_tail()
    assert stored_windows(db) == expected_windows(valid_crowd)
    assert reading_rows(db) == len(valid_crowd)
    counts = dict(db.execute("SELECT reason, count FROM dead_letter_counts").fetchall())
    assert counts == dict(want_dead)

    dead = read_topic(
        isolated.kafka_bootstrap,
        topics["dead-letter.v1"],
        lambda ms: len(ms) >= sum(want_dead.values()),
        timeout_s=90,
    )
    got = Counter(dict(m.headers)["reason"].decode() for m in dead)  # type: ignore[attr-defined]
    assert got == want_dead
    decodable = (b"implausible_density", b"duplicate")
    kept = Counter(m.value for m in dead if dict(m.headers)["reason"] not in decodable)  # type: ignore[attr-defined]
    assert kept == malformed_bytes  # the original bytes (cut if oversized), each once
    cut = [m for m in dead if dict(m.headers)["reason"] == b"oversized"]  # type: ignore[attr-defined]
    assert cut and all("truncated" in dict(m.headers) for m in cut)  # type: ignore[attr-defined]
