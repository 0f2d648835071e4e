"""The real worker's /metrics on its own port: batches, dead letters by reason, states
published, consumer lag per partition and the heartbeat, parsed by prometheus-client."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from citypulse.config import StackSettings
from sensors.events import PopulationEstimate
from sensors.publisher import KafkaEventPublisher
from tests.integration.support import WorkerFactory, topic_names, wait_for

pytestmark = pytest.mark.integration
AREAS = ["POI009", "POI014", "POI047"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> dict[str, list[Sample]]:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return {}
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def _total(samples: list[Sample], suffix: str = "_total", **labels: str) -> float:
    return sum(
        s.value for s in samples if s.name.endswith(suffix) and labels.items() <= s.labels.items()
    )


def test_worker_serves_its_metrics(isolated: StackSettings, worker_factory: WorkerFactory) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    pub = KafkaEventPublisher(isolated.kafka_bootstrap, topic_names(isolated)["city-events.v1"])
    for area in AREAS:
        for i in range(10):
            t = start + timedelta(seconds=10 * i)
            pub.publish(
                PopulationEstimate(
                    event_id=f"m-{area}-{i}", source="test", event_time=t, ingest_time=t,
                    area_code=area, people_min=1_000 + i, people_max=1_100 + i,
                )
            )  # fmt: skip
    pub.publish_raw(b"POI014", b"{not json")
    pub.publish_raw(b"POI014", json.dumps({"kind": "population_estimate"}).encode())
    pub.close()
    port = _free_port()
    worker_factory(CITYPULSE_WORKER_METRICS_PORT=str(port))
    seen: dict[str, list[Sample]] = {}
    names = topic_names(isolated)

    def counted() -> bool:
        nonlocal seen
        seen = _scrape(port)
        return (
            _total(seen.get("citypulse_worker_events", [])) >= len(AREAS) * 10
            and _total(seen.get("citypulse_worker_states_published", [])) >= len(AREAS)
            and _total(seen.get("citypulse_worker_batch_seconds", []), "_count", step="store") > 0
            and _total(seen.get("citypulse_worker_last_heartbeat_timestamp_seconds", []), "") > 0
            # the alert agent's reader, once it has fetched the states
            and any(s.labels["topic"] == names["area-state.v1"]
                    for s in seen.get("citypulse_worker_consumer_lag", []))
        )  # fmt: skip

    wait_for(counted, 90, "the worker's metrics to count the batch", lambda: str(seen.keys()))
    dead = seen["citypulse_worker_dead_letters"]
    assert {s.labels["reason"]: s.value for s in dead} == {"not_json": 1, "schema": 1}
    lag = seen["citypulse_worker_consumer_lag"]
    assert lag and all(s.value >= 0 for s in lag)  # every assigned partition reports
    # The city-event feed's and the alert agent's (alerts/state_feed.py) partitions.
    assert {s.labels["topic"] for s in lag} == {names["city-events.v1"], names["area-state.v1"]}
    assert _total(seen["citypulse_worker_batch_records"], "_sum") == len(AREAS) * 10 + 2
