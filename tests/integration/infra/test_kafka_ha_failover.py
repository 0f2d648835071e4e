"""HA mode's three Kafka nodes lose one mid-stream: nothing acknowledged is lost, nothing
is read twice by the worker's consumer group, and the topic stays writable.

Events go out through the project's producer (`KafkaEventPublisher`: acks=all,
idempotent) while two of the worker's Kafka input edges (`CityEventFeed`, one consumer
group) read them into a store with the worker's offset fence (what `PostgresBatchStore`
does in the database, here in memory). After a few seconds the leader of a partition is
killed with SIGKILL; the stream goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from kafka.errors import KafkaError

from citypulse.config import REPO_ROOT, StackSettings
from citypulse.kafka_nodes import HA_MIN_INSYNC_REPLICAS
from citypulse.topics import CITY_EVENTS
from infra.kafka import broker, cluster
from sensors.publisher import KafkaEventPublisher
from streams.batch import RawRecord
from streams.settings import WorkerSettings
from streams.sink import StaleOffsets
from tests.integration.support import wait_for

# HA mode's processes: run with CITYPULSE_TEST_HA=1, outside CI's budget. It passed when
# run alone (via it.sh) but failed in the fresh-clone CI run of 2026-12-02 13:11 UTC: the
# three nodes did not register within 120 s on the loaded machine (now 300 s).
pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(not os.environ.get("CITYPULSE_TEST_HA"), reason="CITYPULSE_TEST_HA=1"),
]

log = logging.getLogger(__name__)
# Above the single-node test broker's 29092/29093; the nodes use +10 and +20 as well.
HA_TEST_PORT, HA_TEST_CONTROLLER_PORT = 29192, 29193


@pytest.fixture(scope="module")
def ha_kafka() -> Iterator[StackSettings]:
    settings = StackSettings(
        env="test",
        ha=True,
        var_dir=REPO_ROOT / "var" / "test",
        kafka_port=HA_TEST_PORT,
        kafka_controller_port=HA_TEST_CONTROLLER_PORT,
        kafka_heap_mb=256,
    )
    cluster.stop(settings, timeout_s=5)  # one left over from an interrupted run
    shutil.rmtree(cluster.ha_dir(settings), ignore_errors=True)  # a fresh cluster each run
    cluster.start(settings, timeout_s=300)  # three JVMs: slow on a loaded 2-core machine
    yield settings
    for node in settings.kafka_nodes:  # the data goes with it: no need for a clean stop
        cluster.kill_node(settings, node)
    cluster.stop(settings, timeout_s=5)


class FencedStore:
    """Records and each partition's next offset, stored together; a batch that starts
    before the stored offset was stored by the other member and is refused, as the
    database's fence refuses it (streams/sink.py)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.offsets: dict[tuple[str, int], int] = {}
        self.values: list[bytes] = []
        self.refused = 0
        self.errors: list[BaseException] = []

    def resume_from(self) -> dict[tuple[str, int], int]:
        with self.lock:
            return dict(self.offsets)

    async def store(self, records: list[RawRecord]) -> None:
        first: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        for r in records:
            first.setdefault((r.topic, r.partition), r.offset)
            last[(r.topic, r.partition)] = r.offset
        with self.lock:
            for tp, offset in first.items():
                if self.offsets.get(tp, 0) > offset:
                    self.refused += 1
                    raise StaleOffsets(f"{tp} already stored up to {self.offsets[tp]}")
            self.values.extend(r.value for r in records if r.value is not None)
            for tp, offset in last.items():
                self.offsets[tp] = offset + 1


def run_feeds(
    settings: StackSettings, topic: str, store: FencedStore, stop: threading.Event
) -> None:
    from streams.feed import CityEventFeed

    worker = WorkerSettings(session_timeout_s=10, group_heartbeat_s=1, batch_within_s=0.1)

    async def prepare(records: list[RawRecord]) -> list[RawRecord]:
        return records

    async def main() -> None:
        feeds = [
            CityEventFeed[list[RawRecord]](
                settings.kafka_bootstrap, worker, topic, f"{topic}-group", f"member-{n}",
                store.resume_from,
            )
            for n in (1, 2)
        ]  # fmt: skip
        tasks = [asyncio.create_task(f.run(prepare, store.store)) for f in feeds]
        while not stop.is_set():
            await asyncio.sleep(0.2)
            for t in tasks:
                if t.done():
                    t.result()  # a feed that died fails the test with its error
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run(main())
    except BaseException as exc:  # reported by the test's waits
        store.errors.append(exc)
        raise


def partitions(settings: StackSettings, topic: str) -> list[dict[str, Any]]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=5000)
    try:
        described: list[dict[str, Any]] = admin.describe_topics([topic])[0]["partitions"]
        return described
    finally:
        admin.close()


def test_a_node_lost_mid_stream_loses_nothing_and_doubles_nothing(
    ha_kafka: StackSettings,
) -> None:
    settings = ha_kafka
    prefix = f"ha{uuid.uuid4().hex[:8]}"
    (topic,) = broker.ensure_topics(settings, (CITY_EVENTS,), prefix=prefix)
    before = partitions(settings, topic)
    assert {len(p["replica_nodes"]) for p in before} == {3}

    store, stop = FencedStore(), threading.Event()
    consumers = threading.Thread(target=run_feeds, args=(settings, topic, store, stop))
    consumers.start()
    publisher = KafkaEventPublisher(settings.kafka_bootstrap, topic, linger_ms=5)
    sent: list[tuple[bytes, Any]] = []

    def produce(rounds: int) -> None:
        for _ in range(rounds):
            for _ in range(100):
                value = f"event-{len(sent)}".encode()
                sent.append(
                    (value, publisher.publish_raw(f"area-{len(sent) % 97}".encode(), value))
                )
            time.sleep(0.05)

    try:
        produce(40)  # ~2,000 events/s for about 2 s
        wait_for(lambda: len(store.values) > 0, 30, "the group to read", lambda: str(store.errors))
        victim_id = before[0]["leader_id"]
        (victim,) = [n for n in settings.kafka_nodes if n.node_id == victim_id]
        cluster.kill_node(settings, victim)
        killed_at, kill_time = len(sent), time.monotonic()

        def moved() -> bool:
            try:
                now = partitions(settings, topic)
            except KafkaError:  # metadata in flux: ask again
                return False
            return all(p["leader_id"] not in (victim_id, -1) for p in now)

        failover_s: list[float] = []

        def watch_failover() -> None:
            wait_for(moved, 40, "leadership to leave the dead node")
            failover_s.append(time.monotonic() - kill_time)

        watch = threading.Thread(target=watch_failover)
        watch.start()
        produce(100)  # ~5 s more; what waits for the new leaders, flush() sees through
        publisher.flush()
        failed = [v for v, f in sent if not f.succeeded()]
        assert failed == [], f"{len(failed)} sends not acknowledged, first {failed[:3]}"
        assert len(sent) > killed_at

        # Writable without the dead node: every partition led by a live node, two in sync.
        watch.join(timeout=45)
        assert failover_s, "leadership did not leave the dead node"
        log.info("leaders moved %.1f s after the kill", failover_s[0])
        after = partitions(settings, topic)
        assert all(victim_id not in p["isr_nodes"] for p in after)
        assert all(len(p["isr_nodes"]) >= HA_MIN_INSYNC_REPLICAS for p in after)
        late = publisher.publish_raw(b"area-0", b"event-late")
        publisher.flush()
        assert late.succeeded()
        sent.append((b"event-late", late))

        wait_for(
            lambda: len(store.values) >= len(sent),
            45,
            "every acknowledged event to be consumed",
            lambda: f"{len(store.values)} of {len(sent)}; feed errors: {store.errors}",
        )
        time.sleep(1)  # anything read twice would arrive now
    finally:
        stop.set()
        consumers.join(timeout=30)
        publisher.close()

    counts = Counter(store.values)
    assert sorted(v for v, n in counts.items() if n > 1) == []  # none twice
    assert set(counts) == {v for v, _ in sent}  # none lost, none made up
