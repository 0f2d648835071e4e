"""Three KRaft Kafka nodes on one machine for HA mode (CITYPULSE_HA=1).

Which nodes there are, their racks and ports come from `citypulse.kafka_nodes`; this
module writes each node's properties, formats each node's storage with one shared
cluster id, and starts and stops them (detached with pid files for tests and
`citypulse kafka start`; `up` runs the same argv under supervisord). The jars are the
single node's (`broker.install`: Maven Central into <var>/kafka/lib/<version>/).

Every node is broker and controller: the quorum is the three controllers, so any two
elect a leader. Topics get three replicas with `min.insync.replicas=2`; internal topics
(consumer offsets, transaction state) the same. Unclean leader election stays off: a
replica that missed acknowledged writes never becomes leader.
"""

from __future__ import annotations

import logging
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from citypulse.config import StackSettings
from citypulse.kafka_nodes import HA_MIN_INSYNC_REPLICAS, HA_REPLICATION_FACTOR, KafkaNode
from citypulse.processes import Daemon, ProcessError, port_open, require_port_free, wait_until
from citypulse.topics import BROKER_MAX_MESSAGE_BYTES
from infra.kafka import broker

log = logging.getLogger(__name__)


def ha_dir(settings: StackSettings) -> Path:
    return settings.var_dir / "kafka" / "ha"


def node_dir(settings: StackSettings, node: KafkaNode) -> Path:
    return ha_dir(settings) / f"node-{node.node_id}"


def data_dir(settings: StackSettings, node: KafkaNode) -> Path:
    return node_dir(settings, node) / "data"


def props_file(settings: StackSettings, node: KafkaNode) -> Path:
    return node_dir(settings, node) / "server.properties"


def daemon(settings: StackSettings, node: KafkaNode) -> Daemon:
    return Daemon(node.name, settings.run_dir, settings.log_dir)


def node_properties(
    node: KafkaNode, nodes: tuple[KafkaNode, ...], log_dirs: Path | str
) -> dict[str, str]:
    """One node's server.properties as a dict (pure: unit-tested, rendered by `render`)."""
    if node.rack is None or len(nodes) != HA_REPLICATION_FACTOR:
        raise ValueError("HA node properties need the three nodes of HA mode")
    return {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "broker.rack": node.rack,
        "controller.quorum.voters": ",".join(n.voter for n in nodes),
        "listeners": f"PLAINTEXT://{node.host}:{node.port},"
        f"CONTROLLER://{node.host}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{node.host}:{node.port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dirs),
        # Every topic, the internal ones too, on all three nodes; a write needs two.
        "default.replication.factor": str(HA_REPLICATION_FACTOR),
        "min.insync.replicas": str(HA_MIN_INSYNC_REPLICAS),
        "offsets.topic.replication.factor": str(HA_REPLICATION_FACTOR),
        "transaction.state.log.replication.factor": str(HA_REPLICATION_FACTOR),
        "transaction.state.log.min.isr": str(HA_MIN_INSYNC_REPLICAS),
        "share.coordinator.state.topic.replication.factor": str(HA_REPLICATION_FACTOR),
        "share.coordinator.state.topic.min.isr": str(HA_MIN_INSYNC_REPLICAS),
        "unclean.leader.election.enable": "false",
        # Consumers that say where they are (client.rack) may fetch from their own site.
        "replica.selector.class": "org.apache.kafka.common.replica.RackAwareReplicaSelector",
        "group.initial.rebalance.delay.ms": "0",
        # Topics are declared in citypulse/topics.py and created explicitly.
        "auto.create.topics.enable": "false",
        "num.partitions": "4",
        "message.max.bytes": str(BROKER_MAX_MESSAGE_BYTES),
        # Followers fetch records up to the largest batch the brokers take.
        "replica.fetch.max.bytes": str(BROKER_MAX_MESSAGE_BYTES),
        "log.retention.check.interval.ms": "60000",
        "log.cleaner.backoff.ms": "5000",
    }


def render(props: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in props.items())


def write_properties(settings: StackSettings, node: KafkaNode) -> Path:
    path = props_file(settings, node)
    path.parent.mkdir(parents=True, exist_ok=True)
    props = node_properties(node, settings.kafka_nodes, data_dir(settings, node))
    path.write_text(render(props))
    return path


def cluster_id(settings: StackSettings) -> str:
    """The one id all three nodes are formatted with, drawn once and kept."""
    path = ha_dir(settings) / "cluster.id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = broker.new_cluster_id()
        path.write_text(new)
        return new


def format_storage(settings: StackSettings, node: KafkaNode, java: str) -> None:
    if (data_dir(settings, node) / "meta.properties").exists():
        return  # formatted before: keep the data
    data_dir(settings, node).mkdir(parents=True, exist_ok=True)
    cmd = [
        java, "-cp", f"{broker.lib_dir(settings)}/*", "kafka.tools.StorageTool", "format",
        "-t", cluster_id(settings), "-c", str(props_file(settings, node)), "--ignore-formatted",
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if res.returncode != 0:
        raise ProcessError(
            f"Formatting {node.name}'s storage failed:\n{(res.stdout + res.stderr)[-2000:]}"
        )


def _require_ha(settings: StackSettings) -> tuple[KafkaNode, ...]:
    if not settings.ha:
        raise ProcessError("the Kafka cluster is for HA mode (CITYPULSE_HA=1)")
    return settings.kafka_nodes


def prepare(settings: StackSettings, node: KafkaNode) -> list[str]:
    """Install the jars, write the node's properties, format its storage once; return the
    argv that runs the node in the foreground until SIGTERM (a controlled shutdown)."""
    _require_ha(settings)
    java = broker.check_java()
    broker.install(settings)
    props = write_properties(settings, node)
    format_storage(settings, node, java)
    return [
        java, f"-Xmx{settings.kafka_heap_mb}m", f"-Xms{settings.kafka_heap_mb // 2}m",
        "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={broker.HERE / 'log4j2.yaml'}",
        "-cp", f"{broker.lib_dir(settings)}/*", "kafka.Kafka", str(props),
    ]  # fmt: skip


def port_variables(node: KafkaNode) -> tuple[tuple[str, int, str, str], ...]:
    """(host, port, what, variable) of the node's two ports, for `require_port_free`."""
    hint = "CITYPULSE_KAFKA_PORT / CITYPULSE_KAFKA_CONTROLLER_PORT"
    return (
        (node.host, node.port, f"Kafka {node.name}", hint),
        (node.host, node.controller_port, f"Kafka {node.name} controller", hint),
    )


def live_brokers(settings: StackSettings, timeout_ms: int = 3000) -> set[int]:
    """Node ids of the brokers the cluster's metadata lists (registered, not fenced)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=timeout_ms
        )
    except (KafkaError, OSError, ValueError):
        return set()
    try:
        described = admin.describe_cluster()
        return {
            int(b.get("broker_id", b.get("node_id", -1)))
            for b in described.get("brokers", [])
            if not b.get("is_fenced", False)
        }
    except (KafkaError, OSError, KeyError, ValueError):
        return set()
    finally:
        admin.close()


def is_ready(settings: StackSettings) -> bool:
    """All three nodes registered with the quorum."""
    want = {n.node_id for n in settings.kafka_nodes}
    if not any(port_open(n.host, n.port) for n in settings.kafka_nodes):
        return False
    return live_brokers(settings) >= want


def start_node(settings: StackSettings, node: KafkaNode) -> int:
    """Start one node detached with a pid file (it is ready once a quorum answers)."""
    d = daemon(settings, node)
    if (pid := d.pid()) is not None:
        return pid
    for host, port, what, variable in port_variables(node):
        require_port_free(host, port, what, variable)
    argv = prepare(settings, node)
    return d.start(argv, marker=argv[-1])


def start(settings: StackSettings, timeout_s: float = 120.0) -> list[int]:
    """Start the three nodes detached and wait until each is registered."""
    nodes = _require_ha(settings)
    broker.install(settings)  # once, before the nodes format their storage side by side
    with ThreadPoolExecutor(len(nodes)) as pool:
        pids = list(pool.map(lambda node: start_node(settings, node), nodes))
    try:
        wait_until(lambda: is_ready(settings), timeout_s, "the Kafka cluster")
    except ProcessError as exc:
        logs = "\n".join(
            f"{n.name} ({daemon(settings, n).log_file}):\n{daemon(settings, n).log_tail(8)}"
            for n in nodes
        )
        stop(settings, timeout_s=5)
        raise ProcessError(f"{exc}\n{logs}") from exc
    return pids


def kill_node(settings: StackSettings, node: KafkaNode) -> None:
    """SIGKILL one node at once: for failover tests."""
    daemon(settings, node).kill()


def stop(settings: StackSettings, timeout_s: float = 60.0) -> list[str]:
    """Stop every node started with a pid file, all at once (one by one, the last would
    wait for a quorum that has gone); SIGKILL after `timeout_s`. Returns the names of
    those that were running."""
    if not settings.ha:
        return []
    running = [n for n in settings.kafka_nodes if daemon(settings, n).pid() is not None]
    with ThreadPoolExecutor(max(1, len(running))) as pool:
        done = pool.map(lambda n: daemon(settings, n).stop(timeout_s=timeout_s), running)
        return [n.name for n, stopped in zip(running, done, strict=True) if stopped]
