"""The generated server.properties of HA mode's three Kafka nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from citypulse.config import StackSettings
from infra.kafka import cluster


def props(tmp_path: Path) -> list[dict[str, str]]:
    s = StackSettings(ha=True, var_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    return [
        cluster.node_properties(n, s.kafka_nodes, cluster.data_dir(s, n)) for n in s.kafka_nodes
    ]


def test_each_node_has_its_own_id_rack_ports_and_data_dir(tmp_path: Path) -> None:
    nodes = props(tmp_path)
    assert [p["node.id"] for p in nodes] == ["1", "2", "3"]
    assert [p["broker.rack"] for p in nodes] == ["a", "b", "c"]
    assert [p["listeners"] for p in nodes] == [
        "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093",
        "PLAINTEXT://127.0.0.1:19102,CONTROLLER://127.0.0.1:19103",
        "PLAINTEXT://127.0.0.1:19112,CONTROLLER://127.0.0.1:19113",
    ]
    assert [p["advertised.listeners"] for p in nodes] == [
        "PLAINTEXT://127.0.0.1:19092",
        "PLAINTEXT://127.0.0.1:19102",
        "PLAINTEXT://127.0.0.1:19112",
    ]
    dirs = [Path(p["log.dirs"]) for p in nodes]
    assert len(set(dirs)) == 3
    assert all(d.is_relative_to(tmp_path) for d in dirs)


def test_all_three_are_voters_of_one_combined_quorum(tmp_path: Path) -> None:
    nodes = props(tmp_path)
    voters = {p["controller.quorum.voters"] for p in nodes}
    assert voters == {"1@127.0.0.1:19093,2@127.0.0.1:19103,3@127.0.0.1:19113"}
    assert all(p["process.roles"] == "broker,controller" for p in nodes)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("default.replication.factor", "3"),
        ("min.insync.replicas", "2"),
        ("offsets.topic.replication.factor", "3"),
        ("transaction.state.log.replication.factor", "3"),
        ("transaction.state.log.min.isr", "2"),
        ("unclean.leader.election.enable", "false"),
        ("auto.create.topics.enable", "false"),
    ],
)
def test_durability_settings(tmp_path: Path, key: str, value: str) -> None:
    assert {p[key] for p in props(tmp_path)} == {value}


def test_rendered_file_has_one_line_per_setting(tmp_path: Path) -> None:
    s = StackSettings(ha=True, var_dir=tmp_path)
    path = cluster.write_properties(s, s.kafka_nodes[2])
    lines = path.read_text().splitlines()
    assert "broker.rack=c" in lines and "node.id=3" in lines
    assert len(lines) == len({line.split("=", 1)[0] for line in lines})


def test_single_node_settings_are_refused(tmp_path: Path) -> None:
    s = StackSettings(var_dir=tmp_path)
    with pytest.raises(ValueError, match="three nodes"):
        cluster.node_properties(s.kafka_nodes[0], s.kafka_nodes, tmp_path)


def test_the_cluster_id_is_drawn_once(tmp_path: Path) -> None:
    s = StackSettings(ha=True, var_dir=tmp_path)
    first = cluster.cluster_id(s)
    assert cluster.cluster_id(s) == first and not first.startswith("-")
