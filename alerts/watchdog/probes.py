"""The watchdog's looks at the world: heartbeats in the database, the input topic's end
offsets in Kafka. Each answers within its timeout and never raises."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition

from alerts.watchdog.decide import NotSeen, Seen, Sighting, Unknown

log = logging.getLogger(__name__)

# Role names the heartbeat writers use (streams' housekeeping, alerts.heartbeat).
ROLES = {"worker": "stream-worker", "dispatcher": "dispatcher"}


def heartbeats(conninfo: str, timeout_s: float) -> dict[str, Sighting]:
    """database, worker and dispatcher sightings from one short connection."""
    now = time.time()
    try:
        with psycopg.connect(conninfo, connect_timeout=max(1, int(timeout_s))) as conn:
            conn.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
            rows = conn.execute(
                "SELECT role, min(extract(epoch FROM now() - last_seen))::float8 "
                "FROM worker_heartbeats GROUP BY role"
            ).fetchall()
    except psycopg.Error as exc:
        log.warning("database unreachable: %s", type(exc).__name__)
        return {"database": NotSeen(), "worker": Unknown(), "dispatcher": Unknown()}
    ages = {str(role): float(age) for role, age in rows}
    out: dict[str, Sighting] = {"database": Seen(now)}
    for check, role in ROLES.items():
        age = ages.get(role)
        # Ages come from the database's clock, so the two clocks need not agree.
        out[check] = NotSeen() if age is None else Seen(now - max(0.0, age))
    return out


class FeedProbe:
    """Sum of the input topic's end offsets; None when Kafka does not answer."""

    def __init__(self, bootstrap: str, topic: str, timeout_s: float) -> None:
        self.bootstrap, self.topic, self.timeout_ms = bootstrap, topic, int(timeout_s * 1000)
        self._consumer: Any = None

    def total(self) -> int | None:
        try:
            if self._consumer is None:
                self._consumer = KafkaConsumer(
                    bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
                    request_timeout_ms=max(self.timeout_ms, 1000) + 500,
                    api_version_auto_timeout_ms=self.timeout_ms,
                )  # fmt: skip
            parts = self._consumer.partitions_for_topic(self.topic) or set()
            tps = [TopicPartition(self.topic, p) for p in parts]
            if not tps:
                return None
            ends = self._consumer.end_offsets(tps)
            return int(sum(ends.values()))
        except Exception as exc:  # any Kafka trouble reads as "no input seen"
            log.warning("Kafka end offsets unavailable: %s", type(exc).__name__)
            self.close()
            return None

    def close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                self._consumer.close()
            self._consumer = None
