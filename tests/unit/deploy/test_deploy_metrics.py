"""What deploy/ ships reads only series the processes export: every `citypulse_*` name in
the alerting rules and the Grafana dashboard is in the exposition of the API, a worker or
the dispatcher; the rules pass promtool and each exposition its lint when promtool is
installed (scripts/test.sh runs the rule checks unconditionally)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts.dispatch_metrics import DispatchMetrics
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.live.hub import AreaStateHub
from streams.batch import BatchResult, DeadLetter, RawRecord
from streams.metrics import WorkerMetrics

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
SERIES = re.compile(r"\bcitypulse_[a-z0-9_]+")


def _expositions() -> list[bytes]:
    """What the three processes expose, each labelled family with a child."""
    api = ApiMetrics()
    api.hub = AreaStateHub("x", "y")
    api.hub.publish("POI001", b"{}")
    labels = {"method": "GET", "route": "/", "status": "200"}
    api.requests.labels(**labels).inc()
    api.request_seconds.labels(**labels).observe(0.1)
    api.ws_closed.labels(code="1008").inc()
    api.delivery_reports.labels(status="delivered").inc()
    api.set_open_alerts({("alert", "open"): 1})
    api.policy_job_failing.labels(job_id="1", kind="refresh", relation="r").set(1)
    worker = WorkerMetrics("worker-1")
    dead = DeadLetter(RawRecord("t", 0, 0, None, b""), "schema", "")
    worker.prepared(1, BatchResult(dead=[dead]), 0.1)
    worker.consumer_lag.labels(topic="t", partition="0").set(1)
    worker.partitions_dropped.labels(table="crowd_readings").inc()
    worker.db_jobs_taken_over.labels(kind="refresh").inc()
    dispatch = DispatchMetrics()
    dispatch.sent.labels(provider="log").inc()
    dispatch.failed.labels(provider="log", retryable="true").inc()
    dispatch.send_seconds.labels(provider="log").observe(0.1)
    dispatch.delivery_reports.labels(status="delivered").inc()
    return [api.render(), worker.render(), dispatch.render()]


def _exported() -> set[str]:
    names: set[str] = set()
    for text in _expositions():
        for family in text_string_to_metric_families(text.decode()):
            names.update(s.name for s in family.samples)
    return names


@pytest.mark.parametrize(
    "shipped",
    ["prometheus/alerts.yml", "prometheus/alerts_test.yml", "grafana/citypulse.json"],
)
def test_shipped_queries_read_only_exported_series(shipped: str) -> None:
    used = set(SERIES.findall((DEPLOY / shipped).read_text()))
    assert used, f"{shipped} reads no citypulse series"
    assert used - _exported() == set()


def test_dashboard_panels_are_unique_and_use_the_datasource_variable() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "citypulse.json").read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    queries = [p for p in panels if p["type"] != "row"]
    assert queries and all(p["datasource"]["uid"] == "${datasource}" for p in queries)
    assert all(t["expr"] for p in queries for t in p["targets"])


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
@pytest.mark.parametrize(
    "argv",
    [
        ["check", "rules", "prometheus/alerts.yml"],
        ["test", "rules", "prometheus/alerts_test.yml"],
    ],
)
def test_promtool_accepts_the_rules(argv: list[str]) -> None:
    done = subprocess.run(["promtool", *argv], cwd=DEPLOY, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_finds_nothing_to_lint_in_any_exposition() -> None:
    for text in _expositions():
        done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
        assert done.returncode == 0, (done.stdout + done.stderr).decode()
