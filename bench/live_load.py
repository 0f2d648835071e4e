"""A live city load for the benches: valid events stamped with the send instant, paced.

Every event is accepted by the worker (known area and zone, sane counts, event time =
now), so a bench measures the worker's real work, not dead-lettering.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from sensors.events import decode_event
from sensors.registry import hotspots_by_code
from sensors.simulator.bulk_publisher import partition_for

ZONES_PER_AREA = 2
ZONE_M2 = 500.0


class LiveLoad:
    """Valid telecom estimates and zone counts of every hotspot, stamped with the send time."""

    def __init__(self, prefix: str = "b") -> None:
        hotspots = hotspots_by_code()
        self.prefix, self.seq = prefix, 0
        self.templates: list[tuple[bytes, str, str]] = []  # key, kind, the keys after the times
        for code, spot in sorted(hotspots.items()):
            people = int(spot.walkable_m2 * 0.4)  # calm: no alert work in the worker
            self.templates.append(
                (
                    code.encode(),
                    "population_estimate",
                    f'"area_code":"{code}","people_min":{people},"people_max":{people + 100}}}',
                )
            )
            for z in range(1, ZONES_PER_AREA + 1):
                self.templates.append(
                    (
                        code.encode(),
                        "zone_count",
                        f'"area_code":"{code}","zone_id":"Z{z}",'
                        f'"counter_id":"c{z}","count":200,"walkable_m2":{ZONE_M2}}}',
                    )
                )
        for _key, value in (self.make(), self.make()):
            decode_event(value)  # the bench must send valid events only

    def make(self) -> tuple[bytes, bytes]:
        key, kind, body = self.templates[self.seq % len(self.templates)]
        self.seq += 1
        now = datetime.now(UTC).isoformat()
        # The keys in encode_event's order, the kind first (sensors/events.py).
        head = (
            f'{{"kind":"{kind}","v":1,"event_id":"{self.prefix}{self.seq}","source":"bench",'
            f'"event_time":"{now}",'
        )
        return key, f'{head}"ingest_time":"{now}",{body}'.encode()


async def produce_paced(
    load: LiveLoad,
    bootstrap: str,
    topic: str,
    rate: float,
    secs: float,
    stop: asyncio.Event | None = None,
) -> int:
    """Publish `rate` events/s for `secs` (or until `stop`) in 20 ms ticks, one batch per
    partition per tick; returns how many were sent."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    sent, pending = 0, []
    try:
        partitions = len(await producer.partitions_for(topic))
        began = time.monotonic()
        while (elapsed := time.monotonic() - began) < secs and not (stop and stop.is_set()):
            due = int(rate * elapsed) - sent
            batches: dict[int, Any] = {}
            for _ in range(max(due, 0)):
                key, value = load.make()
                p = partition_for(key, partitions, 0)
                batch = batches.get(p) or batches.setdefault(p, producer.create_batch())
                if batch.append(key=key, value=value, timestamp=None) is None:
                    pending.append(await producer.send_batch(batch, topic, partition=p))
                    batches[p] = producer.create_batch()
                    batches[p].append(key=key, value=value, timestamp=None)
                sent += 1
            for p, batch in batches.items():
                pending.append(await producer.send_batch(batch, topic, partition=p))
            if len(pending) > 256:
                await asyncio.gather(*pending)
                pending.clear()
            await asyncio.sleep(0.02)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


class AreaStateReader(threading.Thread):
    """Reads the area-state topic from its end in a thread; `handle` gets each poll's
    messages with the time they were received (this machine's clock, as `as_of` is)."""

    def __init__(self, bootstrap: str, topic: str, poll_ms: int = 100) -> None:
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        tps = [TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic) or []]
        self.consumer.assign(tps)
        self.consumer.seek_to_end(*tps)
        self.tps, self.poll_ms = tps, poll_ms
        self.stop = threading.Event()
        # Set while nothing is measured (a backlog drained at full speed): reading and
        # decoding area states would take CPU from the workers being measured.
        self.paused = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            if self.paused.is_set():
                while self.paused.is_set() and not self.stop.wait(0.1):
                    pass
                self.consumer.seek_to_end(*self.tps)  # what was sent meanwhile is not read
                continue
            for msgs in self.consumer.poll(timeout_ms=self.poll_ms).values():
                self.handle(time.time(), msgs)
        self.consumer.close()

    def handle(self, received: float, msgs: list[Any]) -> None:
        raise NotImplementedError
