"""What the end-to-end tests share: running the `citypulse` command as a user would, and
whether an HA stack's Kafka topics are fully replicated."""

from __future__ import annotations

import subprocess
import sys

from kafka import KafkaAdminClient

from citypulse.config import REPO_ROOT, StackSettings


def cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m citypulse.cli ARGS` from the repository root with exactly `env`."""
    return subprocess.run(
        [sys.executable, "-m", "citypulse.cli", *args],
        capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=REPO_ROOT,
    )  # fmt: skip


def fully_replicated(stack: StackSettings) -> bool:
    """Every partition of every project topic has all three HA Kafka nodes in sync."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap, request_timeout_ms=5000)
    except Exception:  # not answering yet
        return False
    try:
        topics = [t for t in admin.list_topics() if t.startswith(f"{stack.topic_prefix}.")]
        described = admin.describe_topics(topics)
        return bool(topics) and all(
            len(p["isr_nodes"]) == 3 for t in described for p in t["partitions"]
        )
    except Exception:  # metadata in flux
        return False
    finally:
        admin.close()
