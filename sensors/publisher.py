"""The Kafka edge of every adapter: publish city events with kafka-python.

Adapters yield events; only this module knows about Kafka, so an adapter is tested on
files alone and a publisher failure is handled in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sensors.events import CityEvent, encode_event


class EventSink(Protocol):
    def publish(self, event: CityEvent) -> None: ...

    def flush(self) -> None: ...


class ListSink:
    """Collects events in memory: for adapters' unit tests and dry runs, never a broker."""

    def __init__(self) -> None:
        self.events: list[CityEvent] = []

    def publish(self, event: CityEvent) -> None:
        self.events.append(event)

    def flush(self) -> None:
        return None


class KafkaEventPublisher:
    """Publishes events keyed by area to the city-events topic; acks=all, idempotent order."""

    def __init__(self, bootstrap: str, topic: str, *, linger_ms: int = 20) -> None:
        from kafka import KafkaProducer  # imported here so pure users need no broker client

        self.topic = topic
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,  # a retry after a lost answer is not a second copy
            linger_ms=linger_ms,
            batch_size=256 * 1024,
            compression_type=None,
            max_in_flight_requests_per_connection=1,  # keep per-area order across retries
            # Retries until delivery_timeout_ms (120 s): a node lost in HA mode takes its
            # partitions' leadership with it for ~10 s, far longer than 10 quick retries.
        )
        self.sent = 0

    def publish(self, event: CityEvent) -> None:
        self._producer.send(
            self.topic, key=event.partition_key().encode(), value=encode_event(event)
        )
        self.sent += 1

    def publish_raw(self, key: bytes | None, value: bytes) -> Any:
        """Send bytes as they are: used to rehearse malformed input and node losses, never
        for real events. Returns the send's future (`.succeeded()` once acknowledged)."""
        future = self._producer.send(self.topic, key=key, value=value)
        self.sent += 1
        return future

    def flush(self) -> None:
        self._producer.flush(timeout=60)

    def close(self) -> None:
        self._producer.flush(timeout=60)
        self._producer.close(timeout=10)


def publish_all(events: Iterable[CityEvent], sink: EventSink) -> int:
    n = 0
    for event in events:
        sink.publish(event)
        n += 1
    sink.flush()
    return n
