"""HA mode (CITYPULSE_HA=1): two sites rehearsed on one machine, under one supervisord.

Site "a" runs Kafka node 1, site "b" node 2 and the witness location "c" node 3
(`citypulse.kafka_nodes`) and pg_auto_failover's monitor (`pg-monitor`); each site
runs one stream worker (both in the one consumer group), one outbox dispatcher (the
outbox's leases keep two from sending a message twice) and one watchdog. Programs carry
their site in their name (`kafka-a1`, `worker-b`, `dispatcher-a`, `watchdog-b`), so a
whole site is every program ending in `-a` or `-a<n>` (the witness: `kafka-c1` and
`pg-monitor`). Every process gets the bootstrap
list of all three nodes (StackSettings.kafka_bootstrap), so any one node may be gone.

`stack.py` asks this module what to run; nothing here starts anything itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from citypulse.cli import supervise
from citypulse.config import StackSettings
from citypulse.processes import port_open
from infra.kafka import cluster

SITES = ("a", "b")
_SITE_SUFFIX = re.compile(r"-[abc]\d*$")  # c: the witness location

Ports = tuple[tuple[str, int, str, str], ...]
Step = tuple[supervise.Program, Callable[[], bool], Ports]  # stack.InfraStep's fields


def base_name(program: str) -> str:
    """The single-node program a site copy stands for: "dispatcher-b" -> "dispatcher"."""
    return _SITE_SUFFIX.sub("", program)


def site_of(program: str) -> str | None:
    match = _SITE_SUFFIX.search(program)
    return match.group(0)[1] if match else None


def site_copies(name: str, settings: StackSettings) -> list[tuple[str, dict[str, str]]]:
    """The programs that stand for the single-node program `name` in HA mode, with the
    environment each adds: one per site for the worker, the dispatcher and the watchdog;
    the others unchanged."""
    run = settings.run_dir
    if name == "worker":  # worker-N serves its metrics on the base port + N - 1
        return [(f"worker-{s}", {"CITYPULSE_WORKER_ID": f"worker-{n}"}) for n, s in _sites()]
    if name == "dispatcher":
        port = settings.dispatch_metrics_port
        return [
            (f"dispatcher-{s}", {"CITYPULSE_DISPATCH_METRICS_PORT": str(port and port + n - 1)})
            for n, s in _sites()
        ]
    if name == "watchdog":  # each keeps its own memory of what it has told
        return [
            (f"watchdog-{s}", {"CITYPULSE_WATCHDOG_STATE_FILE": str(run / f"watchdog-{s}.json")})
            for _, s in _sites()
        ]
    return [(name, {})]


def _sites() -> list[tuple[int, str]]:
    return list(enumerate(SITES, start=1))


def kafka_program(name: str, argv: list[str]) -> supervise.Program:
    # All three at one priority: supervisord stops them together. One by one, the last
    # would wait for a quorum that has gone; SIGKILL after stopwaitsecs leaves a log
    # recovery for the next start, never a lost acknowledged write (two copies each).
    return supervise.Program(name, argv, priority=3, startsecs=10, stopwaitsecs=60)


def kafka_steps(settings: StackSettings) -> list[Step]:
    """The three nodes as `up`'s infrastructure steps (program, ready, ports that must be
    free). No node registers before a quorum of controllers answers, so the first two are
    ready once their controller listens and the last once all three are registered."""
    nodes = settings.kafka_nodes
    steps: list[Step] = []
    for node in nodes:
        program = kafka_program(node.name, cluster.prepare(settings, node))
        if node is nodes[-1]:
            ready: Callable[[], bool] = lambda: cluster.is_ready(settings)  # noqa: E731
        else:
            ready = lambda n=node: port_open(n.host, n.controller_port)  # type: ignore[misc]  # noqa: E731
        steps.append((program, ready, cluster.port_variables(node)))
    return steps
