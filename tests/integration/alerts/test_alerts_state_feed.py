"""alerts/state_feed.py on the real broker: a partition a new group takes starts at the
states no older than the replay limit (holds run in event time: an hour-old episode
replayed would fire now); a group that committed resumes where it stopped."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from alerts.settings import AlertSettings
from alerts.state_feed import AreaStateFeed
from citypulse.config import StackSettings
from citypulse.topics import AREA_STATE
from streams.settings import WorkerSettings


async def _produce(settings: StackSettings, topic: str, values: list[bytes], age_s: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        at_ms = int((time.time() - age_s) * 1000)
        for value in values:
            await producer.send_and_wait(
                topic, value, key=b"POI009", partition=0, timestamp_ms=at_ms
            )
    finally:
        await producer.stop()


async def _read_until(settings: StackSettings, topic: str, n: int) -> list[bytes]:
    """Run the feed in the test's alerts group until it has handed over `n` messages,
    then a second more (nothing else may come)."""
    seen: list[bytes] = []
    enough = asyncio.Event()

    async def evaluate(messages: Sequence[bytes]) -> None:
        seen.extend(messages)
        if len(seen) >= n:
            enough.set()

    group = WorkerSettings()
    feed = AreaStateFeed(
        settings.kafka_bootstrap,
        topic,
        f"{settings.topic_prefix}-alerts",
        "test",
        session_timeout_s=group.session_timeout_s,
        heartbeat_s=group.group_heartbeat_s,
        replay_max_s=AlertSettings().replay_max_s,
        within_s=0.2,
    )
    task = asyncio.create_task(feed.run(evaluate))
    try:
        await asyncio.wait_for(enough.wait(), 60)
        await asyncio.sleep(1.0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return seen


def test_a_new_group_skips_states_older_than_the_limit_and_resumes_at_its_commit(
    isolated: StackSettings,
) -> None:
    topic = isolated.topic(AREA_STATE.suffix)

    async def go() -> tuple[list[bytes], list[bytes]]:
        await _produce(isolated, topic, [b"old-1", b"old-2", b"old-3"], age_s=3600)
        await _produce(isolated, topic, [b"new-1", b"new-2"], age_s=1)
        first = await _read_until(isolated, topic, 2)
        await _produce(isolated, topic, [b"new-3"], age_s=0)
        return first, await _read_until(isolated, topic, 1)

    first, second = asyncio.run(go())
    assert first == [b"new-1", b"new-2"]
    assert second == [b"new-3"]  # committed: neither old nor already evaluated states again
