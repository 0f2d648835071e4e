"""The worker's metrics without Kafka: hooks fed by hand and a stand-in consumer, the
exposition parsed by prometheus-client's own parser, served over HTTP on its own port."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from citypulse.config import StackSettings
from streams.batch import BatchResult, DeadLetter, RawRecord
from streams.metrics import WorkerMetrics, start_worker_metrics, worker_metrics_port
from streams.retention import Fallback, RetentionReport
from streams.settings import WorkerSettings

WORKER_FAMILIES = {
    "citypulse_worker_info": "gauge",  # an Info, which the text format writes as a gauge
    "citypulse_worker_consumer_lag": "gauge",
    "citypulse_worker_batch_records": "histogram",
    "citypulse_worker_batch_seconds": "histogram",
    "citypulse_worker_events": "counter",
    "citypulse_worker_replays_skipped": "counter",
    "citypulse_worker_dead_letters": "counter",
    "citypulse_worker_stale_batches": "counter",
    "citypulse_worker_states_published": "counter",
    "citypulse_worker_last_heartbeat_timestamp_seconds": "gauge",
    "citypulse_worker_retention_partitions_dropped": "counter",
    "citypulse_worker_timescaledb_jobs_taken_over": "counter",
}


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


class StandInConsumer:
    """What observe_lag asks of an aiokafka consumer."""

    def __init__(self, highwater: dict[TP, int | None], position: dict[TP, int]) -> None:
        self._highwater, self._position = highwater, position

    def assignment(self) -> set[TP]:
        return set(self._highwater)

    def highwater(self, tp: TP) -> int | None:
        return self._highwater[tp]

    async def position(self, tp: TP) -> int:
        return self._position[tp]


def _families(text: str) -> dict[str, tuple[str, list[Sample]]]:
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text)}


def _lag(metrics: WorkerMetrics) -> dict[tuple[str, str], float]:
    _, samples = _families(metrics.render().decode())["citypulse_worker_consumer_lag"]
    return {(s.labels["topic"], s.labels["partition"]): s.value for s in samples}


def _dead(reason: str) -> DeadLetter:
    return DeadLetter(RawRecord("t", 0, 1, b"k", b"v"), reason, "detail")


def test_exposition_parses_and_carries_every_worker_family() -> None:
    metrics = WorkerMetrics("worker-2")
    result = BatchResult(dead=[_dead("schema"), _dead("schema"), _dead("not_json")])
    metrics.prepared(120, result, 0.03)
    metrics.stored(0.2)
    metrics.states_published.inc(7)
    metrics.heartbeat()
    families = _families(metrics.render().decode())
    assert {name: kind for name, (kind, _) in families.items()} == WORKER_FAMILIES
    _, dead = families["citypulse_worker_dead_letters"]
    assert {s.labels["reason"]: s.value for s in dead} == {"schema": 2, "not_json": 1}
    _, info = families["citypulse_worker_info"]
    assert info[0].labels == {"worker_id": "worker-2"}
    _, seconds = families["citypulse_worker_batch_seconds"]
    counts = {s.labels["step"]: s.value for s in seconds if s.name.endswith("_count")}
    assert counts == {"prepare": 1, "store": 1}
    _, records = families["citypulse_worker_batch_records"]
    assert next(s.value for s in records if s.name.endswith("_sum")) == 120
    _, beat = families["citypulse_worker_last_heartbeat_timestamp_seconds"]
    assert beat[0].value > 1.7e9


async def test_lag_per_partition_follows_the_assignment() -> None:
    a, b = TP("city-events", 0), TP("city-events", 1)
    metrics = WorkerMetrics("worker-1")
    await metrics.observe_lag(StandInConsumer({a: 500, b: None}, {a: 380, b: 0}))
    assert _lag(metrics) == {("city-events", "0"): 120}  # b not fetched yet: no guess
    await metrics.observe_lag(StandInConsumer({b: 90}, {b: 90}))  # a revoked, b caught up
    assert _lag(metrics) == {("city-events", "1"): 0}


async def test_the_alert_agents_lag_and_the_feeds_do_not_drop_each_other() -> None:
    events, states = TP("city-events", 0), TP("area-state", 3)
    metrics = WorkerMetrics("worker-1")
    await metrics.observe_lag(StandInConsumer({events: 500}, {events: 380}))
    await metrics.observe_lag(StandInConsumer({states: 40}, {states: 10}), reader="alerts")
    await metrics.observe_lag(StandInConsumer({events: 600}, {events: 600}))
    assert _lag(metrics) == {("city-events", "0"): 0, ("area-state", "3"): 30}
    await metrics.observe_lag(StandInConsumer({}, {}), reader="alerts")  # all revoked
    assert _lag(metrics) == {("city-events", "0"): 0}


@pytest.mark.parametrize(
    ("base", "worker_id", "port"),
    [
        (9464, "worker-1", 9464),
        (9464, "worker", 9464),
        (9464, "worker-3", 9466),
        (9464, "site-b-worker-12", 9475),
        (9464, "worker-0", 9464),
        (0, "worker-3", 0),
        (65535, "worker-4", 65535),
    ],
)
def test_each_worker_of_a_machine_gets_its_own_port(base: int, worker_id: str, port: int) -> None:
    assert worker_metrics_port(base, worker_id) == port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_served_on_its_port_and_announced_for_prometheus(tmp_path: Path) -> None:
    stack = StackSettings(worker_id="worker", var_dir=tmp_path)
    metrics = start_worker_metrics(stack, WorkerSettings(worker_metrics_port=_free_port()))
    assert metrics.endpoint is not None
    try:
        url = f"http://127.0.0.1:{metrics.endpoint.port}/metrics"
        assert set(_families(httpx.get(url, timeout=5).text)) == set(WORKER_FAMILIES)
        target = json.loads((tmp_path / "run" / "metrics" / "worker.json").read_text())
        assert target == [
            {
                "targets": [f"127.0.0.1:{metrics.endpoint.port}"],
                "labels": {"job": "citypulse-worker", "instance": "worker"},
            }
        ]
    finally:
        metrics.endpoint.close()
    assert not (tmp_path / "run" / "metrics" / "worker.json").exists()


def test_a_taken_port_falls_back_to_a_free_one_and_zero_turns_it_off(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        stack = StackSettings(worker_id="worker", var_dir=tmp_path)
        metrics = start_worker_metrics(stack, WorkerSettings(worker_metrics_port=port))
        assert metrics.endpoint is not None and metrics.endpoint.port not in (0, port)
        metrics.endpoint.close()
    off = WorkerSettings(worker_metrics_port=0)
    assert start_worker_metrics(stack, off).endpoint is None


def test_retention_counted_per_table_and_jobs_taken_over_per_kind() -> None:
    metrics = WorkerMetrics("worker-1")
    metrics.retained(
        RetentionReport(
            "postgresql",
            dropped=["crowd_readings_p20260101", "crowd_readings_p20260102",
                     "crowd_stats_1m_p20250101"],
            fallbacks=[Fallback("refresh", "crowd_stats_1h", 1001, {})],
        )
    )  # fmt: skip
    families = _families(metrics.render().decode())
    _, dropped = families["citypulse_worker_retention_partitions_dropped"]
    totals = {s.labels["table"]: s.value for s in dropped if s.name.endswith("_total")}
    assert totals == {"crowd_readings": 2, "crowd_stats_1m": 1}
    _, taken = families["citypulse_worker_timescaledb_jobs_taken_over"]
    assert {s.labels["kind"]: s.value for s in taken if s.name.endswith("_total")} == {"refresh": 1}
