"""Every end-to-end stack listens on fixed ports below Linux's ephemeral range.

The kernel hands out local ports for outgoing connections from 32768-60999
(net.ipv4.ip_local_port_range). A fixed listening port inside that range can be held, at
the moment a stack starts, by any client connection on the machine (a Kafka node's link
to another, a pool's connection), and the bind fails: HAProxy did exactly that on
127.0.0.1:38100 in a run of 2026-12-02. Below 32768 no outgoing connection takes it.
No two stacks that may run at once (the integration lane's services run beside the
end-to-end lane) share a port either.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import tests.e2e
from citypulse.config import StackSettings
from citypulse.kafka_nodes import NODE_PORT_STEP

EPHEMERAL_FIRST = 32768
INTEGRATION = {25432, 29092, 29093}  # tests/integration/conftest.py's TEST_PORTS


def _stacks() -> dict[str, StackSettings]:
    out = {}
    for mod in pkgutil.iter_modules([str(Path(tests.e2e.__file__).parent)]):
        module = importlib.import_module(f"tests.e2e.{mod.name}")
        stack = getattr(module, "STACK", None)
        if isinstance(stack, StackSettings):
            out[mod.name] = stack
    return out


def _ports(s: StackSettings) -> set[int]:
    ports = {s.kafka_port, s.kafka_controller_port, s.db_port, s.api_port}
    if s.ha:
        ports |= {s.db_standby_port, s.db_monitor_port, s.api_port_a, s.api_port_b}
        ports |= {p + NODE_PORT_STEP * n for p in (s.kafka_port, s.kafka_controller_port)
                  for n in range(3)}  # fmt: skip
    return ports


def test_end_to_end_stacks_listen_below_the_ephemeral_range() -> None:
    stacks = _stacks()
    assert len(stacks) >= 5, sorted(stacks)  # the discovery found the stacks
    for name, stack in stacks.items():
        # HA stacks left at the dev defaults for what they do not set (8001/8002, 1543x)
        # are below the range too.
        inside = sorted(p for p in _ports(stack) if p >= EPHEMERAL_FIRST)
        assert not inside, f"{name}: ports {inside} are in the ephemeral range"
        assert not _ports(stack) & INTEGRATION, f"{name} shares a port with tests/integration"
