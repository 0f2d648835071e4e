"""alerts/state_feed.py: area states in whole fetches, offsets committed after each."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from alerts.state_feed import AreaStateFeed

TOPIC = "t.area-state.v1"


class Message:
    def __init__(self, offset: int, value: bytes) -> None:
        self.offset = offset
        self.value = value


class ScriptedConsumer:
    """aiokafka's consumer as the feed uses it: scripted fetches, then the feed is
    cancelled by the test once they are used up."""

    def __init__(self, fetches: list[dict[Any, list[Message]]], **kwargs: Any) -> None:
        self.fetches = list(fetches)
        self.kwargs = kwargs
        self.commits: list[dict[Any, int]] = []
        self.fail_commits = False
        self.stopped = False
        self.drained = asyncio.Event()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[Message]]:
        if self.fetches:
            return self.fetches.pop(0)
        self.drained.set()
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def commit(self, offsets: dict[Any, int]) -> None:
        if self.fail_commits:
            raise CommitFailedError("rebalanced")
        self.commits.append(offsets)


def run_feed(
    monkeypatch: pytest.MonkeyPatch,
    consumer: ScriptedConsumer,
    evaluate: Any,
    observe: Any = None,
) -> BaseException | None:
    import aiokafka

    made: list[dict[str, Any]] = []

    def make(*topics: str, **kwargs: Any) -> ScriptedConsumer:
        made.append({"topics": topics, **kwargs})
        return consumer

    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", make)
    feed = AreaStateFeed(
        "localhost:1", TOPIC, "t-alerts", "t-alerts-w1", within_s=0.01, observe=observe
    )

    async def go() -> BaseException | None:
        task = asyncio.create_task(feed.run(evaluate))
        drained = asyncio.create_task(consumer.drained.wait())
        await asyncio.wait({task, drained}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        task.cancel()
        drained.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return None
        except Exception as exc:
            return exc
        return None

    error = asyncio.run(go())
    assert made == [
        {
            "topics": (TOPIC,),
            "bootstrap_servers": "localhost:1",
            "group_id": "t-alerts",
            "client_id": "t-alerts-w1",
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": 20_000,
            "heartbeat_interval_ms": 2_000,
            "max_poll_interval_ms": 3_600_000,
        }
    ]
    assert consumer.stopped
    return error


P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


def test_each_fetch_is_evaluated_in_partition_and_offset_order_then_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = ScriptedConsumer(
        [
            {P1: [Message(7, b"c"), Message(8, b"d")], P0: [Message(3, b"a"), Message(4, b"b")]},
            {},
            {P0: [Message(5, b"e")]},
        ]
    )
    seen: list[tuple[list[bytes], int]] = []

    async def evaluate(messages: Sequence[bytes]) -> None:
        seen.append((list(messages), len(consumer.commits)))

    assert run_feed(monkeypatch, consumer, evaluate) is None
    # Each fetch was evaluated before its offsets were committed; an empty one commits nothing.
    assert seen == [([b"a", b"b", b"c", b"d"], 0), ([b"e"], 1)]
    assert consumer.commits == [{P0: 5, P1: 9}, {P0: 6}]


def test_what_evaluate_raises_stops_the_feed_with_the_fetch_uncommitted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = ScriptedConsumer([{P0: [Message(0, b"a")]}, {P0: [Message(1, b"b")]}])

    async def evaluate(messages: Sequence[bytes]) -> None:
        if messages == [b"b"]:
            raise RuntimeError("engine bug")

    error = run_feed(monkeypatch, consumer, evaluate)
    assert isinstance(error, RuntimeError)
    assert consumer.commits == [{P0: 1}]  # the next owner reads offset 1 again


def test_a_commit_refused_by_a_rebalance_does_not_stop_the_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = ScriptedConsumer([{P0: [Message(0, b"a")]}, {P0: [Message(1, b"b")]}])
    consumer.fail_commits = True
    seen: list[bytes] = []

    async def evaluate(messages: Sequence[bytes]) -> None:
        seen.extend(messages)

    assert run_feed(monkeypatch, consumer, evaluate) is None
    assert seen == [b"a", b"b"]


def test_each_fetch_empty_or_not_is_observed_with_the_consumer_before_it_is_evaluated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = ScriptedConsumer([{}, {P0: [Message(0, b"a")]}])
    events: list[str] = []

    async def observe(c: Any) -> None:
        assert c is consumer
        events.append("observe")

    async def evaluate(messages: Sequence[bytes]) -> None:
        events.append("evaluate")

    assert run_feed(monkeypatch, consumer, evaluate, observe) is None
    assert events[:3] == ["observe", "observe", "evaluate"]
