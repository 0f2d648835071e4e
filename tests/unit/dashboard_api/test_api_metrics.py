"""The API's metrics without a database or Kafka: the exposition parses with
prometheus-client's own parser and carries every family; the request middleware labels by
route template, counts errors and carries a request id."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from citypulse.logs import request_id
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.core.middleware import incoming_request_id, observe_requests
from dashboard_api.live.hub import AreaStateHub
from dashboard_api.live.pacer import SLOTS

API_FAMILIES = {
    "citypulse_http_requests": "counter",
    "citypulse_http_request_duration_seconds": "histogram",
    "citypulse_http_rate_limited": "counter",
    "citypulse_ws_closed": "counter",
    "citypulse_sms_delivery_reports": "counter",
    "citypulse_alerts_open": "gauge",
    "citypulse_db_policy_job_failing": "gauge",
    "citypulse_ws_clients": "gauge",
    "citypulse_ws_states_behind": "gauge",
    "citypulse_ws_lagging_clients": "gauge",
    "citypulse_ws_conflated": "counter",
    "citypulse_hub_states_received": "counter",
    "citypulse_hub_keys": "gauge",
    "citypulse_hub_kafka_connected": "gauge",
    "citypulse_hub_alert_events": "counter",
    "citypulse_hub_last_state_age_seconds": "gauge",
    "citypulse_broker_entities_pushed": "counter",
    "citypulse_broker_push_failures": "counter",
    "citypulse_broker_entities_pending": "gauge",
}


def _families(metrics: ApiMetrics) -> dict[str, tuple[str, list[Sample]]]:
    text = metrics.render().decode()
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text)}


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    return next(s.value for s in samples if s.name == name and s.labels == labels)


def _conflating_hub() -> AreaStateHub:
    """A hub whose one client never takes its frames, so states pile up and conflate."""
    hub = AreaStateHub("x", "y", {"POI001": "중구"})
    client = hub.subscribe(framed=True, operator=True)
    for people in range(5):
        hub.publish("POI001", json.dumps({"area_code": "POI001", "people": people}).encode())
        hub.publish_alert(7, b'{"kind":"alert"}')
        for slot in range(SLOTS):
            hub.pacer.tick(slot, 0.0)
    client._frame = None  # its sender finally takes the first frame; the rest conflated
    for slot in range(SLOTS):
        hub.pacer.tick(slot, 0.0)
    return hub


def test_exposition_parses_and_carries_every_api_family() -> None:
    metrics = ApiMetrics()
    metrics.hub = _conflating_hub()
    metrics.requests.labels(method="GET", route="/health", status="200").inc()
    metrics.request_seconds.labels(method="GET", route="/health", status="200").observe(0.02)
    metrics.set_open_alerts({("심각", "open"): 2, ("경계", "acknowledged"): 1})
    families = _families(metrics)
    assert {name: kind for name, (kind, _) in families.items()} == API_FAMILIES
    _, alerts = families["citypulse_alerts_open"]
    assert _value(alerts, "citypulse_alerts_open", stage="심각", status="open") == 2
    _, latency = families["citypulse_http_request_duration_seconds"]
    labels = {"method": "GET", "route": "/health", "status": "200"}
    assert _value(latency, "citypulse_http_request_duration_seconds_count", **labels) == 1
    assert _value(latency, "citypulse_http_request_duration_seconds_bucket", le="0.025", **labels)


def test_open_alerts_vanish_while_the_database_does_not_answer() -> None:
    metrics = ApiMetrics()
    metrics.set_open_alerts({("심각", "open"): 2})
    metrics.set_open_alerts(None)
    assert families_samples(metrics, "citypulse_alerts_open") == []


def families_samples(metrics: ApiMetrics, name: str) -> list[Sample]:
    return _families(metrics)[name][1]


def test_conflated_is_a_counter_that_keeps_what_departed_clients_lost() -> None:
    metrics = ApiMetrics()
    hub = metrics.hub = _conflating_hub()
    before = _value(
        families_samples(metrics, "citypulse_ws_conflated"), "citypulse_ws_conflated_total"
    )
    assert before > 0
    for client in list(hub.clients):
        hub.unsubscribe(client)
    after = _value(
        families_samples(metrics, "citypulse_ws_conflated"), "citypulse_ws_conflated_total"
    )
    assert after == before


def test_two_apps_do_not_share_counters() -> None:
    a, b = ApiMetrics(), ApiMetrics()
    a.rate_limited.inc()
    assert (
        _value(
            families_samples(b, "citypulse_http_rate_limited"), "citypulse_http_rate_limited_total"
        )
        == 0
    )


def _app(metrics: ApiMetrics) -> FastAPI:
    app = FastAPI()
    log = logging.getLogger("test.api")

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, str | None]:
        log.info("item %d", item_id)
        return {"request_id": request_id.get()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    app.middleware("http")(observe_requests(metrics))
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://api")


async def test_requests_are_labelled_by_route_template_and_errors_are_counted() -> None:
    metrics = ApiMetrics()
    async with _client(_app(metrics)) as client:
        for n in (1, 2, 3):
            assert (await client.get(f"/items/{n}")).status_code == 200
        assert (await client.get("/boom")).status_code == 500
        assert (await client.get("/nowhere")).status_code == 404
        assert (await client.request("BREW", "/items/1")).status_code == 405
    samples = families_samples(metrics, "citypulse_http_requests")
    counts = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in samples
        if s.name == "citypulse_http_requests_total"
    }
    assert counts == {
        ("GET", "/items/{item_id}", "200"): 3,
        ("GET", "/boom", "500"): 1,
        ("GET", "unmatched", "404"): 1,
        ("other", "/items/{item_id}", "405"): 1,
    }


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("trace.01:zz_9", True),
        ("", False),
        ("x" * 65, False),
        ("bad id", False),
        ('evil"\n{}', False),
    ],
)
async def test_request_id_is_kept_only_when_safe_and_is_returned(sent: str, kept: bool) -> None:
    async with _client(_app(ApiMetrics())) as client:
        r = await client.get("/items/1", headers={"X-Request-ID": sent} if sent else {})
    returned = r.headers["X-Request-ID"]
    assert (returned == sent) is kept
    assert r.json() == {"request_id": returned}  # the route saw the same id
    assert incoming_request_id(returned) == returned


@pytest.mark.parametrize(
    ("accept", "content_type", "ends"),
    [
        (None, "text/plain; version=0.0.4; charset=utf-8", ""),
        ("*/*", "text/plain; version=0.0.4; charset=utf-8", ""),
        ("application/openmetrics-text; version=1.0.0", "application/openmetrics-text", "# EOF\n"),
    ],
)
def test_the_scraper_gets_the_format_it_asks_for(
    accept: str | None, content_type: str, ends: str
) -> None:
    metrics = ApiMetrics()
    metrics.rate_limited.inc()
    body, got = metrics.exposition(accept)
    assert got.startswith(content_type)
    assert body.decode().endswith(ends) and b"citypulse_http_rate_limited" in body
