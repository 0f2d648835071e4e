"""deploy/kafka/: the three nodes of a real cluster (site a, site b, the witness c) are
what HA mode rehearses (infra/kafka/cluster.py's node_properties), with real host names
and standard ports."""

from __future__ import annotations

import re
from pathlib import Path

from citypulse.config import REPO_ROOT
from citypulse.kafka_nodes import HA_RACKS, KafkaNode
from infra.kafka import cluster

KAFKA = REPO_ROOT / "deploy" / "kafka"
FILES = sorted(KAFKA.glob("*.properties"))


def read(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {k.strip(): v.strip() for k, v in pairs}


def nodes_of(files: list[dict[str, str]]) -> tuple[KafkaNode, ...]:
    out = []
    for p in files:
        m = re.fullmatch(r"PLAINTEXT://(.+):(\d+),CONTROLLER://\1:(\d+)", p["listeners"])
        assert m, p["listeners"]
        out.append(KafkaNode(int(p["node.id"]), p["broker.rack"], m[1], int(m[2]), int(m[3])))
    return tuple(sorted(out, key=lambda n: n.node_id))


def test_three_nodes_one_per_location() -> None:
    files = [read(p) for p in FILES]
    nodes = nodes_of(files)
    assert [n.rack for n in nodes] == list(HA_RACKS)
    assert [p.stem for p in FILES] == sorted(n.name for n in nodes)
    assert len({n.host for n in nodes}) == 3  # one host each


def test_each_file_is_what_ha_mode_generates_for_its_host() -> None:
    files = {p.stem: read(p) for p in FILES}
    nodes = nodes_of(list(files.values()))
    for node in nodes:
        want = cluster.node_properties(node, nodes, files[node.name]["log.dirs"])
        assert files[node.name] == want, node.name
