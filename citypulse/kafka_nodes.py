"""Which Kafka nodes the stack has: one on its own, three in HA mode (CITYPULSE_HA=1).

In HA mode two sites are rehearsed on one machine, with a witness location beside them:
node 1 at site "a", node 2 at site "b", node 3 at the witness "c" (each node's
`broker.rack`; the witness also holds pg_auto_failover's monitor). Every node is broker
and controller, so the KRaft quorum is the three of them: the loss of any one location,
either whole site included, leaves two voters (a majority) and two in-sync replicas.
Node n listens on the single node's ports plus NODE_PORT_STEP * (n - 1): with the
defaults 19092/19093, 19102/19103 and 19112/19113. Topics get three replicas and
`min.insync.replicas=2`: a write acknowledged with acks=all is on two nodes at least.
"""

from __future__ import annotations

from dataclasses import dataclass

NODE_PORT_STEP = 10
HA_RACKS = ("a", "b", "c")  # node 1, 2, 3: site a, site b, the witness
HA_REPLICATION_FACTOR = 3
HA_MIN_INSYNC_REPLICAS = 2


@dataclass(frozen=True)
class KafkaNode:
    node_id: int
    rack: str | None  # None: the single node, no rack
    host: str
    port: int  # clients and replication (PLAINTEXT)
    controller_port: int  # the KRaft quorum (CONTROLLER)

    @property
    def name(self) -> str:
        """The supervisord program: "kafka" alone, else the site and the node's number
        there ("kafka-a1", "kafka-b1", "kafka-c1")."""
        if self.rack is None:
            return "kafka"
        nth = HA_RACKS[: self.node_id].count(self.rack)
        return f"kafka-{self.rack}{nth}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def voter(self) -> str:
        return f"{self.node_id}@{self.host}:{self.controller_port}"


def kafka_nodes(ha: bool, host: str, port: int, controller_port: int) -> tuple[KafkaNode, ...]:
    """The single node, or the three of HA mode with their derived ports."""
    if not ha:
        return (KafkaNode(1, None, host, port, controller_port),)
    nodes = tuple(
        KafkaNode(
            n + 1, rack, host, port + NODE_PORT_STEP * n, controller_port + NODE_PORT_STEP * n
        )
        for n, rack in enumerate(HA_RACKS)
    )
    ports = [p for node in nodes for p in (node.port, node.controller_port)]
    if len(set(ports)) != len(ports) or max(ports) > 65535:
        raise ValueError(
            f"HA mode derives Kafka ports {ports} from CITYPULSE_KAFKA_PORT={port} and "
            f"CITYPULSE_KAFKA_CONTROLLER_PORT={controller_port} (+{NODE_PORT_STEP} per node); "
            "they must all differ and stay below 65536"
        )
    return nodes


def topic_replication(ha: bool) -> tuple[int, dict[str, str]]:
    """Replication factor and the extra topic config every project topic gets."""
    if not ha:
        return 1, {}
    return HA_REPLICATION_FACTOR, {"min.insync.replicas": str(HA_MIN_INSYNC_REPLICAS)}
