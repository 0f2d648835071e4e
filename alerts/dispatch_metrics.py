"""Prometheus metrics of the SMS outbox dispatcher, served on its own port.

Sends and reports are counted where they happen (one-line hooks in alerts/dispatcher.py);
the outbox depth is sampled from the database every few seconds, because what is waiting
includes rows other dispatchers and the alert service wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from alerts.providers.base import OutgoingSms, SmsProvider, SubmitResult
from alerts.tables import outbox
from citypulse.config import StackSettings
from citypulse.metrics_server import MetricsEndpoint, new_registry, serve_metrics

log = logging.getLogger(__name__)
# Kannel answers a sendsms in milliseconds; a gateway in trouble takes its full timeout.
SEND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WAITING = ("pending", "sending")


class DispatchMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        r = self.registry
        self.outbox_messages = Gauge(
            "citypulse_outbox_messages",
            "Outbox messages waiting to be sent (pending) or being sent (sending).",
            ["status"],
            registry=r,
        )
        self.outbox_oldest_seconds = Gauge(
            "citypulse_outbox_oldest_waiting_seconds",
            "Age of the oldest message still pending or sending; 0 when none waits.",
            registry=r,
        )
        self.outbox_sampled = Gauge(
            "citypulse_outbox_last_sample_timestamp_seconds",
            "Unix time the outbox depth was last read from the database.",
            registry=r,
        )
        self.sent = Counter(
            "citypulse_sms_sent",
            "Messages the gateway accepted (accepted is not delivered), by provider.",
            ["provider"],
            registry=r,
        )
        self.failed = Counter(
            "citypulse_sms_failed",
            "Messages the gateway refused, by provider and whether the refusal is retried.",
            ["provider", "retryable"],
            registry=r,
        )
        self.send_seconds = Histogram(
            "citypulse_sms_send_seconds",
            "Time for the gateway to answer one submit, by provider.",
            ["provider"],
            buckets=SEND_BUCKETS,
            registry=r,
        )
        self.delivery_reports = Counter(
            "citypulse_sms_delivery_reports",
            "Delivery reports this process received (SMPP, log provider), by status.",
            ["status"],
            registry=r,
        )
        for status in WAITING:  # present from the start, so a rule sees 0 rather than nothing
            self.outbox_messages.labels(status=status)
        self.endpoint: MetricsEndpoint | None = None

    async def timed_send(self, provider: SmsProvider, message: OutgoingSms) -> SubmitResult:
        """`provider.send`, counted and timed."""
        started = time.perf_counter()
        result = await provider.send(message)
        self.send_seconds.labels(provider=provider.name).observe(time.perf_counter() - started)
        if result.accepted:
            self.sent.labels(provider=provider.name).inc()
        else:
            retryable = "true" if result.retryable else "false"
            self.failed.labels(provider=provider.name, retryable=retryable).inc()
        return result

    def outbox_depth(self, rows: list[tuple[Any, ...]], now: float) -> None:
        """Rows of (status, count, oldest age in seconds), as `sample_outbox` reads them."""
        counts = {str(status): (int(n), float(age)) for status, n, age in rows}
        for status in WAITING:
            self.outbox_messages.labels(status=status).set(counts.get(status, (0, 0.0))[0])
        self.outbox_oldest_seconds.set(max((age for _, age in counts.values()), default=0.0))
        self.outbox_sampled.set(now)

    async def sample_outbox(self, conn: psycopg.AsyncConnection[Any]) -> None:
        rows = await outbox.waiting_depth(conn)
        self.outbox_depth(rows, time.time())

    async def watch_outbox(self, conninfo: str, stop: asyncio.Event, every_s: float = 5.0) -> None:
        """Sample the outbox depth until `stop`; a database outage leaves the last sample
        (its timestamp shows how old it is) and is retried next period."""
        conn: psycopg.AsyncConnection[Any] | None = None
        try:
            while not stop.is_set():
                try:
                    if conn is None or conn.closed:
                        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
                    await self.sample_outbox(conn)
                except psycopg.Error as exc:
                    log.info("outbox depth not sampled: %s", exc)
                    if conn is not None:
                        await conn.close()
                    conn = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_s)
        finally:
            if conn is not None:
                await conn.close()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def start_dispatch_metrics(
    settings: StackSettings, instance: str = "dispatcher"
) -> DispatchMetrics:
    """The dispatcher's metrics, served on CITYPULSE_DISPATCH_METRICS_PORT (0: off)."""
    metrics = DispatchMetrics()
    metrics.endpoint = serve_metrics(
        metrics.registry,
        settings.metrics_host,
        settings.dispatch_metrics_port,
        job="citypulse-dispatcher",
        instance=instance,
        run_dir=settings.run_dir,
    )
    return metrics
