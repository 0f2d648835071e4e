"""Prometheus metrics of one stream worker, served on its own port.

The worker's assembly builds one `WorkerMetrics` (`start_worker_metrics`) and hands it to
the feed and the agents; their hooks are one line each. They run per batch, per dead
letter and per published state, never per valid event: the batch step costs what it did.
"""

from __future__ import annotations

import re
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

from citypulse.config import StackSettings
from citypulse.metrics_server import MetricsEndpoint, new_registry, serve_metrics
from streams.batch import BatchResult
from streams.retention import RetentionReport
from streams.settings import WorkerSettings

# A batch is up to batch_max_events (20,000 by default) records; at a steady rate it is
# what arrived while the previous one was handled (about 5,000 at 20,000 events/s).
BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000, 50000)
# A batch takes milliseconds to prepare and tens of milliseconds to store; a database
# that stalls shows as the tail.
BATCH_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class WorkerMetrics:
    def __init__(self, worker_id: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        r = self.registry
        Info("citypulse_worker", "Which worker this is.", registry=r).info({"worker_id": worker_id})
        self.consumer_lag = Gauge(
            "citypulse_worker_consumer_lag",
            "Records in a partition not yet fetched by this worker (high watermark - position).",
            ["topic", "partition"],
            registry=r,
        )
        self.batch_events = Histogram(
            "citypulse_worker_batch_records",
            "Records per fetched batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "citypulse_worker_batch_seconds",
            "Time per batch step: prepare (validate, dead-letter, fold into live state) "
            "and store (the database write with its offsets).",
            ["step"],
            buckets=BATCH_SECONDS_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "citypulse_worker_events", "Valid events folded into live state.", registry=r
        )
        self.replays_skipped = Counter(
            "citypulse_worker_replays_skipped",
            "Records below the stored offset, dropped as replays.",
            registry=r,
        )
        self.dead_letters = Counter(
            "citypulse_worker_dead_letters",
            "Records sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=r,
        )
        self.stale_batches = Counter(
            "citypulse_worker_stale_batches",
            "Batches refused because another worker stored part of them.",
            registry=r,
        )
        self.states_published = Counter(
            "citypulse_worker_states_published",
            "Area and zone states sent to the area-state topic.",
            registry=r,
        )
        self.last_heartbeat = Gauge(
            "citypulse_worker_last_heartbeat_timestamp_seconds",
            "Unix time of the worker's last heartbeat written to the database.",
            registry=r,
        )
        self.partitions_dropped = Counter(
            "citypulse_worker_retention_partitions_dropped",
            "Daily partitions dropped by retention (stock PostgreSQL), by table.",
            ["table"],
            registry=r,
        )
        self.db_jobs_taken_over = Counter(
            "citypulse_worker_timescaledb_jobs_taken_over",
            "Failing TimescaleDB policy jobs whose work housekeeping did, by kind.",
            ["kind"],
            registry=r,
        )
        self._lag_partitions: dict[str, set[tuple[str, str]]] = {}  # per reader
        self.endpoint: MetricsEndpoint | None = None

    def prepared(self, records: int, result: BatchResult, seconds: float) -> None:
        """One batch validated and folded: its size, its dead letters, its time."""
        self.batch_events.observe(records)
        self.batch_seconds.labels(step="prepare").observe(seconds)
        self.events.inc(len(result.events))
        if result.skipped_replays:
            self.replays_skipped.inc(result.skipped_replays)
        for dead in result.dead:
            self.dead_letters.labels(reason=dead.reason).inc()

    def stored(self, seconds: float) -> None:
        self.batch_seconds.labels(step="store").observe(seconds)

    def heartbeat(self) -> None:
        self.last_heartbeat.set(time.time())

    def retained(self, report: RetentionReport) -> None:
        for name in report.dropped:
            self.partitions_dropped.labels(table=name.rsplit("_p", 1)[0]).inc()
        for fallback in report.fallbacks:
            self.db_jobs_taken_over.labels(kind=fallback.kind).inc()

    async def observe_lag(self, consumer: Any, reader: str = "city-events") -> None:
        """Lag of every partition assigned to `consumer` (an aiokafka consumer) after a
        fetch; partitions no longer assigned to it are dropped so they stop reporting.
        `reader`: which of the worker's consumers this is (the city-event feed, the alert
        agent's), so that one's assignment never drops the other's partitions."""
        seen: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:  # nothing fetched from it yet
                continue
            position = await consumer.position(tp)
            labels = (tp.topic, str(tp.partition))
            self.consumer_lag.labels(*labels).set(max(0, highwater - position))
            seen.add(labels)
        for gone in self._lag_partitions.get(reader, set()) - seen:
            self.consumer_lag.remove(*gone)
        self._lag_partitions[reader] = seen

    def render(self) -> bytes:
        return generate_latest(self.registry)


_TRAILING_NUMBER = re.compile(r"(\d+)$")


def worker_metrics_port(base: int, worker_id: str) -> int:
    """worker-N serves on base + N - 1, so `up`'s workers never share a port; an id
    without a number uses base (a taken port falls back to a free one)."""
    if base == 0:
        return 0
    match = _TRAILING_NUMBER.search(worker_id)
    offset = int(match.group(1)) - 1 if match else 0
    return min(65535, base + max(0, offset))


def start_worker_metrics(stack: StackSettings, settings: WorkerSettings) -> WorkerMetrics:
    """The worker's metrics, served on CITYPULSE_WORKER_METRICS_PORT (+ index; 0: off)."""
    metrics = WorkerMetrics(stack.worker_id)
    port = worker_metrics_port(settings.worker_metrics_port, stack.worker_id)
    metrics.endpoint = serve_metrics(
        metrics.registry,
        stack.metrics_host,
        port,
        job="citypulse-worker",
        instance=stack.worker_id,
        run_dir=stack.run_dir,
    )
    return metrics
