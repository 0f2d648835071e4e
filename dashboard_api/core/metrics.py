"""Prometheus text exposition (format 0.0.4), hand-written: counters and gauges only.

The API needs a handful of series; a client library would be a dependency for that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


@dataclass
class Counter:
    name: str
    help: str
    values: dict[Labels, float] = field(default_factory=lambda: defaultdict(float))

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self.values[tuple(sorted(labels.items()))] += amount


def render_family(
    name: str, kind: str, help_text: str, samples: Mapping[Labels, float] | Iterable[float]
) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    items = samples.items() if isinstance(samples, Mapping) else [((), v) for v in samples]
    for labels, value in items:
        lines.append(f"{name}{_labels(labels)} {float(value)!r}")
    return "\n".join(lines) + "\n"


def render_counter(counter: Counter) -> str:
    return render_family(counter.name, "counter", counter.help, dict(counter.values))


HTTP_REQUESTS = Counter("citypulse_http_requests_total", "HTTP requests by route and status.")
HTTP_SECONDS = Counter(
    "citypulse_http_request_seconds_total", "Time spent answering HTTP requests, by route."
)
RATE_LIMITED = Counter("citypulse_http_rate_limited_total", "Requests refused by the rate limit.")
WS_CLOSED = Counter("citypulse_ws_closed_total", "Websocket connections closed by the server.")
