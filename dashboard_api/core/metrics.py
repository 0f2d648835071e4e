"""The API's Prometheus metrics (prometheus-client), one registry per application.

`create_app` builds an `ApiMetrics`; nothing here exists before that, so two apps in one
test process never share a counter. What the hub already counts (clients, states read,
conflated states) is read at scrape time by a collector instead of being copied into
metric objects on every state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from citypulse.metrics_server import new_registry
from dashboard_api.opendata.push import PushMetrics
from infra.db.timescale_jobs import JobHealth

if TYPE_CHECKING:
    from dashboard_api.live.hub import AreaStateHub

# Most API answers take milliseconds; history queries over a week take up to seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class BrokerPushMetrics(PushMetrics):
    """The push of entities to FIWARE brokers (dashboard_api/opendata/push.py)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.entities = Counter(
            "citypulse_broker_entities_pushed",
            "Entities a FIWARE context broker accepted, by broker flavour.",
            ["broker"],
            registry=registry,
        )
        self.failures = Counter(
            "citypulse_broker_push_failures",
            "Batches a broker did not take: unavailable (retried with backoff) or rejected.",
            ["broker", "reason"],
            registry=registry,
        )
        self.waiting = Gauge(
            "citypulse_broker_entities_pending",
            "Entities whose newest version a broker does not hold yet.",
            ["broker"],
            registry=registry,
        )

    def accepted(self, broker: str, n: int) -> None:
        self.entities.labels(broker=broker).inc(n)

    def failed(self, broker: str, reason: str) -> None:
        self.failures.labels(broker=broker, reason=reason).inc()

    def pending(self, broker: str, n: int) -> None:
        self.waiting.labels(broker=broker).set(n)


class ApiMetrics:
    """Request, rate-limit, websocket and alert series of one API process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        r = self.registry
        self.requests = Counter(
            "citypulse_http_requests",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "citypulse_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, method and status.",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.rate_limited = Counter(
            "citypulse_http_rate_limited", "Requests refused by the rate limit.", registry=r
        )
        self.ws_closed = Counter(
            "citypulse_ws_closed",
            "Websocket connections closed by the server, by close code.",
            ["code"],
            registry=r,
        )
        self.delivery_reports = Counter(
            "citypulse_sms_delivery_reports",
            "SMS delivery reports received (Kannel's dlr-url calls this process), by status.",
            ["status"],
            registry=r,
        )
        self.alerts_open = Gauge(
            "citypulse_alerts_open",
            "Open and acknowledged alerts, read from the database at scrape time.",
            ["stage", "status"],
            registry=r,
        )
        self.broker_push = BrokerPushMetrics(r)
        self.policy_job_failing = Gauge(
            "citypulse_db_policy_job_failing",
            "TimescaleDB policy jobs (retention, compression, rollup refresh): 1 when the "
            "last run failed or the job is overdue, 0 when fine; none on stock PostgreSQL.",
            ["job_id", "kind", "relation"],
            registry=r,
        )
        self.hub: AreaStateHub | None = None  # set once the lifespan has started it
        r.register(HubCollector(lambda: self.hub))

    def set_open_alerts(self, counts: Mapping[tuple[str, str], float] | None) -> None:
        """Counts by (stage, status); None when the database did not answer, which drops
        the series rather than repeating a stale count."""
        self.alerts_open.clear()
        for (stage, status), n in (counts or {}).items():
            self.alerts_open.labels(stage=stage, status=status).set(n)

    def set_policy_jobs(self, jobs: Iterable[JobHealth] | None) -> None:
        """None when the database did not answer: the series drop, as for open alerts."""
        self.policy_job_failing.clear()
        for h in jobs or ():
            self.policy_job_failing.labels(
                job_id=str(h.job.job_id), kind=h.job.kind, relation=h.job.relation
            ).set(0 if h.ok else 1)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The body and content type a scraper's Accept header asks for: OpenMetrics
        for a Prometheus that prefers it, the 0.0.4 text format otherwise."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class HubCollector(Collector):
    """The websocket hub's own counters, read when Prometheus scrapes."""

    def __init__(self, hub: Callable[[], AreaStateHub | None]) -> None:
        self._hub = hub  # None before the lifespan has started the hub

    def collect(self) -> Iterator[Metric]:
        hub = self._hub()
        if hub is None:
            return
        clients = hub.clients
        yield _gauge("citypulse_ws_clients", "Connected websocket clients.", len(clients))
        yield _gauge(
            "citypulse_ws_states_behind",
            "States published that connected clients have not been sent yet (summed).",
            sum(max(0, hub.seq - c.cursor) for c in clients),
        )
        yield _gauge(
            "citypulse_ws_lagging_clients",
            "Clients still sending their previous frame when their turn came.",
            sum(1 for c in clients if c.busy),
        )
        yield _counter(
            "citypulse_ws_conflated",
            "States and events superseded before a lagging client was sent them, since start.",
            hub.conflated_total(),
        )
        yield _counter(
            "citypulse_hub_states_received",
            "Area and zone states read from Kafka.",
            hub.states_received,
        )
        yield _gauge("citypulse_hub_keys", "Areas and zones with a current state.", len(hub.latest))
        yield _gauge(
            "citypulse_hub_kafka_connected", "1 when reading Kafka.", 1 if hub.connected else 0
        )
        yield _counter(
            "citypulse_hub_alert_events",
            "Alert changes sent to operator streams.",
            hub.alert_events,
        )
        if hub.last_message_at is not None:
            yield _gauge(
                "citypulse_hub_last_state_age_seconds",
                "Seconds since the newest state.",
                time.monotonic() - hub.last_message_at,
            )

    def describe(self) -> Iterable[Metric]:
        return []  # families depend on the hub's state; nothing to check at registration


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _counter(name: str, help_text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_text, value=value)
