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
# As the worker passes them: WorkerSettings' group timings, AlertSettings' replay limit.
GROUP: dict[str, float] = {"session_timeout_s": 20.0, "heartbeat_s": 2.0, "replay_max_s": 600.0}


class Message:
    def __init__(self, offset: int, value: bytes) -> None:
        self.offset = offset
        self.value = value


class ScriptedConsumer:
    """aiokafka's consumer as the feed uses it: scripted fetches, then the feed is
    cancelled by the test once they are used up."""

    def __init__(self, fetches: list[dict[Any, list[Message]]], **kwargs: Any) -> None:
        self.listener: Any = None
        self.fetches = list(fetches)
        self.kwargs = kwargs
        self.commits: list[dict[Any, int]] = []
        self.fail_commits = False
        self.stopped = False
        self.drained = asyncio.Event()

    async def start(self) -> None:
        pass

    def subscribe(self, topics: list[str], listener: Any) -> None:
        assert topics == [TOPIC]
        self.listener = listener

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

    def make(**kwargs: Any) -> ScriptedConsumer:
        made.append(kwargs)
        return consumer

    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", make)
    feed = AreaStateFeed(
        "localhost:1", TOPIC, "t-alerts", "t-alerts-w1", **GROUP, within_s=0.01, observe=observe
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
    assert consumer.listener is not None
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


class Found:
    def __init__(self, offset: int) -> None:
        self.offset = offset


class PartitionsByTime:
    """What `_skip_old` asks of aiokafka's consumer: per partition, the first offset at or
    after a time, the end, the group's committed offset; and where it seeks."""

    def __init__(self, by_time: dict[Any, int | None], ends: dict[Any, int],
                 committed: dict[Any, int | None], fail: bool = False) -> None:  # fmt: skip
        self.by_time, self.ends, self.committed_at = by_time, ends, committed
        self.asked_since: set[int] = set()
        self.seeks: dict[Any, int] = {}
        self.fail = fail
        self.to_end: tuple[Any, ...] = ()

    async def offsets_for_times(self, times: dict[Any, int]) -> dict[Any, Found | None]:
        if self.fail:
            from aiokafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError()
        self.asked_since |= set(times.values())
        return {tp: None if (o := self.by_time[tp]) is None else Found(o) for tp in times}

    async def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        return {tp: self.ends[tp] for tp in tps}

    async def committed(self, tp: Any) -> int | None:
        return self.committed_at[tp]

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks[tp] = offset

    async def seek_to_end(self, *tps: Any) -> None:
        self.to_end = tps


P2, P3 = TopicPartition(TOPIC, 2), TopicPartition(TOPIC, 3)


def test_no_partition_resumes_at_a_state_older_than_the_replay_limit() -> None:
    # Holds run in event time: states replayed from long ago would fire an episode that
    # is over. P0: a new group (nothing committed); P1: committed long ago; P2: committed
    # recently; P3: nothing in the last 10 minutes at all.
    consumer = PartitionsByTime(
        by_time={P0: 40, P1: 70, P2: 10, P3: None},
        ends={P0: 90, P1: 95, P2: 30, P3: 12},
        committed={P0: None, P1: 5, P2: 25, P3: 3},
    )
    feed = AreaStateFeed("localhost:1", TOPIC, "g", "c", **GROUP, wall_clock=lambda: 1_000.0)
    asyncio.run(feed._skip_old(consumer, {P0, P1, P2, P3}))
    assert consumer.asked_since == {400_000}  # ms: 600 s before the wall clock
    assert consumer.seeks == {P0: 40, P1: 70, P3: 12}  # P2 resumes at its commit


def test_when_kafka_cannot_say_which_states_are_recent_the_feed_reads_from_the_end() -> None:
    consumer = PartitionsByTime({P0: 1}, {P0: 9}, {P0: None}, fail=True)
    feed = AreaStateFeed("localhost:1", TOPIC, "g", "c", **GROUP)
    asyncio.run(feed._skip_old(consumer, {P0}))
    assert consumer.to_end == (P0,)
    assert consumer.seeks == {}


def test_the_feed_skips_old_states_on_every_assignment(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = ScriptedConsumer([{P0: [Message(0, b"a")]}])
    by_time = PartitionsByTime({P0: 7}, {P0: 9}, {P0: None})
    for name in ("offsets_for_times", "end_offsets", "committed"):
        setattr(consumer, name, getattr(by_time, name))
    setattr(consumer, "seek", by_time.seek)  # noqa: B010

    async def evaluate(messages: Sequence[bytes]) -> None:
        pass

    run_feed(monkeypatch, consumer, evaluate)
    asyncio.run(consumer.listener.on_partitions_assigned({P0}))
    assert by_time.seeks == {P0: 7}
