"""The dispatcher's metrics without a database or gateway: sends counted and timed by
outcome, outbox depth from sampled rows, the exposition parsed by prometheus-client and
served on its own port."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from alerts.dispatch_metrics import DispatchMetrics, start_dispatch_metrics
from alerts.providers.base import OutgoingSms, SubmitResult
from citypulse.config import StackSettings

DISPATCH_FAMILIES = {
    "citypulse_outbox_messages": "gauge",
    "citypulse_outbox_oldest_waiting_seconds": "gauge",
    "citypulse_outbox_last_sample_timestamp_seconds": "gauge",
    "citypulse_sms_sent": "counter",
    "citypulse_sms_failed": "counter",
    "citypulse_sms_send_seconds": "histogram",
    "citypulse_sms_delivery_reports": "counter",
}


class ScriptedProvider:
    """Answers each send with the next scripted result."""

    name = "scripted"

    def __init__(self, *answers: SubmitResult) -> None:
        self.answers = list(answers)

    async def send(self, message: OutgoingSms) -> SubmitResult:
        return self.answers.pop(0)

    async def reachable(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


def _families(text: str) -> dict[str, tuple[str, list[Sample]]]:
    return {f.name: (f.type, f.samples) for f in text_string_to_metric_families(text)}


async def test_sends_are_counted_by_outcome_and_timed() -> None:
    metrics = DispatchMetrics()
    provider = ScriptedProvider(
        SubmitResult.ok("k1"),
        SubmitResult.ok("k2"),
        SubmitResult.retry("gateway 503"),
        SubmitResult.final("unknown subscriber"),
    )
    message = OutgoingSms("1", "+821012345678", "경계 POI004")
    results = [await metrics.timed_send(provider, message) for _ in range(4)]
    assert [r.accepted for r in results] == [True, True, False, False]  # passed through
    metrics.delivery_reports.labels(status="delivered").inc()
    families = _families(metrics.render().decode())
    assert {name: kind for name, (kind, _) in families.items()} == DISPATCH_FAMILIES
    _, sent = families["citypulse_sms_sent"]
    assert [(s.labels, s.value) for s in sent] == [({"provider": "scripted"}, 2)]
    _, failed = families["citypulse_sms_failed"]
    assert {s.labels["retryable"]: s.value for s in failed} == {"true": 1, "false": 1}
    _, seconds = families["citypulse_sms_send_seconds"]
    assert next(s.value for s in seconds if s.name.endswith("_count")) == 4


def test_outbox_depth_reports_both_waiting_states_and_the_oldest() -> None:
    metrics = DispatchMetrics()
    _, before = _families(metrics.render().decode())["citypulse_outbox_messages"]
    assert {s.labels["status"]: s.value for s in before} == {"pending": 0, "sending": 0}
    metrics.outbox_depth([("pending", 12, 340.5), ("sending", 3, 20.0)], now=1.8e9)
    families = _families(metrics.render().decode())
    _, depth = families["citypulse_outbox_messages"]
    assert {s.labels["status"]: s.value for s in depth} == {"pending": 12, "sending": 3}
    assert families["citypulse_outbox_oldest_waiting_seconds"][1][0].value == 340.5
    metrics.outbox_depth([], now=1.8e9 + 5)  # drained: zeros, not the last numbers
    families = _families(metrics.render().decode())
    _, depth = families["citypulse_outbox_messages"]
    assert {s.labels["status"]: s.value for s in depth} == {"pending": 0, "sending": 0}
    assert families["citypulse_outbox_oldest_waiting_seconds"][1][0].value == 0
    assert families["citypulse_outbox_last_sample_timestamp_seconds"][1][0].value == 1.8e9 + 5


def test_served_on_its_own_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    settings = StackSettings(dispatch_metrics_port=port, var_dir=tmp_path)
    metrics = start_dispatch_metrics(settings)
    assert metrics.endpoint is not None and metrics.endpoint.port == port
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert set(_families(text)) == set(DISPATCH_FAMILIES)
        assert (tmp_path / "run" / "metrics" / "dispatcher.json").exists()
    finally:
        metrics.endpoint.close()
    off = StackSettings(dispatch_metrics_port=0, var_dir=tmp_path)
    assert start_dispatch_metrics(off).endpoint is None
