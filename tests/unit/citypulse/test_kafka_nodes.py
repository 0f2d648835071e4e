"""Which Kafka nodes the stack has: one alone, three in HA mode with derived ports."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from citypulse.config import StackSettings
from citypulse.kafka_nodes import NODE_PORT_STEP, kafka_nodes, topic_replication


def test_single_node_keeps_its_name_and_ports() -> None:
    s = StackSettings(kafka_port=19092, kafka_controller_port=19093)
    (node,) = s.kafka_nodes
    assert (node.name, node.rack, node.port, node.controller_port) == ("kafka", None, 19092, 19093)
    assert s.kafka_bootstrap == "127.0.0.1:19092"
    assert topic_replication(False) == (1, {})


def test_ha_mode_has_one_node_at_each_site_and_one_at_the_witness() -> None:
    s = StackSettings(ha=True, kafka_port=19092, kafka_controller_port=19093)
    nodes = s.kafka_nodes
    assert [n.name for n in nodes] == ["kafka-a1", "kafka-b1", "kafka-c1"]
    assert [n.rack for n in nodes] == ["a", "b", "c"]
    assert [n.node_id for n in nodes] == [1, 2, 3]
    assert [n.port for n in nodes] == [19092, 19092 + NODE_PORT_STEP, 19092 + 2 * NODE_PORT_STEP]
    assert [n.controller_port - n.port for n in nodes] == [1, 1, 1]
    # Every client gets all three: any one may be down.
    assert s.kafka_bootstrap.split(",") == [f"127.0.0.1:{n.port}" for n in nodes]


def test_ha_mode_is_read_from_citypulse_ha(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYPULSE_HA", "1")
    assert StackSettings().ha is True
    monkeypatch.setenv("CITYPULSE_HA", "0")
    assert StackSettings().ha is False
    monkeypatch.delenv("CITYPULSE_HA")
    assert StackSettings().ha is False


@pytest.mark.parametrize(("port", "controller"), [(19092, 19102), (19092, 19112), (65530, 65531)])
def test_derived_ports_that_collide_or_overflow_are_refused(port: int, controller: int) -> None:
    with pytest.raises(ValueError, match="must all differ"):
        kafka_nodes(True, "127.0.0.1", port, controller)
    with pytest.raises(ValidationError):
        StackSettings(ha=True, kafka_port=port, kafka_controller_port=controller)


def test_ha_topics_have_three_replicas_and_need_two_in_sync() -> None:
    assert topic_replication(True) == (3, {"min.insync.replicas": "2"})


def test_an_explicit_server_list_is_what_clients_get() -> None:
    s = StackSettings(ha=True, kafka_servers=" kafka-a1:9092, kafka-b1:9092 ,kafka-c1:9092,")
    assert s.kafka_bootstrap == "kafka-a1:9092,kafka-b1:9092,kafka-c1:9092"
    assert [n.name for n in s.kafka_nodes] == ["kafka-a1", "kafka-b1", "kafka-c1"]  # local ones


@pytest.mark.parametrize("lost", ["a", "b", "c"])
def test_losing_any_one_location_leaves_a_quorum_and_enough_replicas(lost: str) -> None:
    """Site a, site b or the witness gone whole: a majority of the voters and
    min.insync.replicas of every partition's replicas (one per node) are left."""
    nodes = StackSettings(ha=True).kafka_nodes
    left = [n for n in nodes if n.rack != lost]
    replicas, config = topic_replication(True)
    assert len(left) > len(nodes) // 2
    assert min(len(left), replicas) >= int(config["min.insync.replicas"])
