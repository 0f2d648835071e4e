"""Every Kafka topic of the project, declared once: name, partitions, retention, policy.

Names carry a prefix (CITYPULSE_TOPIC_PREFIX) so that tests and parallel stacks on one
broker each get their own topics.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 3600 * 1000

# The largest record batch the broker takes (its message.max.bytes, set in
# infra/kafka/broker.py). The worker's producer may send a little more than that, never
# less: no record the broker took can be over the producer's own limit (and a dead letter
# cuts a body over 64 KiB anyway); what the broker refuses, the producer hears from it at
# once as MESSAGE_TOO_LARGE.
BROKER_MAX_MESSAGE_BYTES = 1024 * 1024
PRODUCER_MAX_REQUEST_BYTES = BROKER_MAX_MESSAGE_BYTES + 64 * 1024


@dataclass(frozen=True)
class TopicSpec:
    suffix: str
    partitions: int
    retention_ms: int
    compact: bool = False

    def name(self, prefix: str) -> str:
        return f"{prefix}.{self.suffix}"

    def config(self) -> dict[str, str]:
        cfg = {"retention.ms": str(self.retention_ms)}
        if self.compact:
            # Latest state per key is what matters; keep segments small so
            # compaction catches up quickly after a busy hour.
            cfg["cleanup.policy"] = "compact"
            cfg["segment.ms"] = str(3600 * 1000)
            cfg["min.cleanable.dirty.ratio"] = "0.1"
        return cfg


# All raw city events (population estimates, zone counts, environment, sensor status)
# share one topic keyed by area, so one area's inputs stay ordered for fusion.
CITY_EVENTS = TopicSpec("city-events.v1", partitions=8, retention_ms=7 * DAY_MS)
DEAD_LETTER = TopicSpec("dead-letter.v1", partitions=2, retention_ms=30 * DAY_MS)
AREA_STATE = TopicSpec("area-state.v1", partitions=8, retention_ms=-1, compact=True)
# No alert topic: alert changes are rows of the alerts table, written in one transaction
# with their SMS (the outbox), and the operator stream reads them from there.

ALL_TOPICS: tuple[TopicSpec, ...] = (CITY_EVENTS, DEAD_LETTER, AREA_STATE)
