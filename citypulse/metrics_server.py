"""What every process's metrics share: a registry of its own and, for the worker and the
dispatcher (which have no web server), a /metrics port.

A worker or dispatcher whose port is taken still runs: it serves on a free port instead
and says so, because a missing metric is noticed (the scrape fails) while a missing
worker is an outage. Each process writes where it serves to `<run_dir>/metrics/<name>.json`
in Prometheus's file_sd format, so the scrape config finds every process that `up`
started, whatever port it ended up on (deploy/prometheus/prometheus.yml).
"""

from __future__ import annotations

import atexit
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, disable_created_metrics, start_http_server

log = logging.getLogger(__name__)


def new_registry() -> CollectorRegistry:
    """A registry for one process. Counters without their `_created` twins: in the text
    format each would be a gauge series of its own that no dashboard or rule reads."""
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return CollectorRegistry()


@dataclass
class MetricsEndpoint:
    host: str
    port: int
    server: Any  # prometheus-client's WSGI server, kept so tests and shutdown can close it
    target_file: Path | None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.target_file is not None:
            self.target_file.unlink(missing_ok=True)


def serve_metrics(
    registry: CollectorRegistry,
    host: str,
    port: int,
    *,
    job: str,
    instance: str,
    run_dir: Path | None = None,
) -> MetricsEndpoint | None:
    """Serve /metrics of `registry` in a daemon thread on host:port (taken: any free port);
    port 0 means no server. Writes the file_sd target under run_dir when given."""
    if port == 0:
        return None
    try:
        server, _ = start_http_server(port, host, registry)
    except OSError as exc:
        log.warning("metrics port %s:%d unavailable (%s); serving on a free port", host, port, exc)
        server, _ = start_http_server(0, host, registry)
    bound = int(server.server_address[1])
    log.info("%s metrics on http://%s:%d/metrics", instance, host, bound)
    target = None
    if run_dir is not None:
        target = run_dir / "metrics" / f"{instance}.json"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            entry = {"targets": [f"{host}:{bound}"], "labels": {"job": job, "instance": instance}}
            target.write_text(json.dumps([entry]))
            # A process that stops is no longer a target; one that is killed stays one,
            # so its failing scrape is noticed.
            atexit.register(target.unlink, missing_ok=True)
        except OSError as exc:
            log.warning("metrics target file %s not written: %s", target, exc)
            target = None
    return MetricsEndpoint(host, bound, server, target)
