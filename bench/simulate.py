"""Sustained rate at which one simulator process publishes into the real broker.

Generation and publishing run together (the simulator's fast path: pre-encoded JSON in
aiokafka batches, acks=all); only records the broker acknowledged are counted. A bench
topic is created and deleted. `--kafka-python` also measures the plain
KafkaEventPublisher (event objects, per-message send) on a smaller sample.

    CITYPULSE_KAFKA_BOOTSTRAP=127.0.0.1:19092 python bench/simulate.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

from sensors.publisher import KafkaEventPublisher  # noqa: E402
from sensors.simulator.api import simulate, simulate_encoded  # noqa: E402
from sensors.simulator.bulk_publisher import publish_encoded  # noqa: E402
from sensors.simulator.profile import KST  # noqa: E402
from sensors.simulator.records import MalformedPayload  # noqa: E402
from sensors.simulator.scenarios import normal_day  # noqa: E402

START = datetime(2026, 6, 12, 0, 0, tzinfo=KST)


def kafka_python_rate(bootstrap: str, topic: str, hours: float) -> tuple[int, float]:
    publisher = KafkaEventPublisher(bootstrap, topic)
    began = time.perf_counter()
    for event in simulate(normal_day(), START, timedelta(hours=hours), seed=2):
        if not isinstance(event, MalformedPayload):
            publisher.publish(event)
    publisher.close()  # flush: every send acknowledged or raised
    return publisher.sent, time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hours", type=float, default=None, help="simulated hours to publish")
    parser.add_argument("--kafka-python", action="store_true", help="also time the slow path")
    args = parser.parse_args()
    bootstrap = os.environ.get("CITYPULSE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    hours = args.hours or (8.0 if args.quick else 48.0)
    topic = f"bench.simulate.{os.getpid()}.{int(time.time())}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=8, replication_factor=1)])
    result: dict[str, object] = {}
    try:
        pairs = simulate_encoded(normal_day(), START, timedelta(hours=hours), seed=1)
        began = time.perf_counter()
        acked = asyncio.run(publish_encoded(pairs, bootstrap, topic))
        seconds = time.perf_counter() - began
        rate = acked / seconds
        print(f"fast path: {acked:,} events acknowledged in {seconds:.2f} s")
        print(f"events_per_s {rate:,.0f}")
        result = {"events_per_s": round(rate), "events": acked, "seconds": round(seconds, 3)}
        if args.kafka_python and not args.quick:
            sent, secs = kafka_python_rate(bootstrap, topic, hours=2.0)
            print(
                f"kafka-python KafkaEventPublisher: {sent:,} events in {secs:.2f} s "
                f"= {sent / secs:,.0f} events/s"
            )
            result["kafka_python_events_per_s"] = round(sent / secs)
    finally:
        admin.delete_topics([topic])
        admin.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
