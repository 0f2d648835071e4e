"""streams/kafka_records.py on aiokafka's own record parsing: a consumer made with
`raw_keys` gets `RawRecord`s, every other consumer its `ConsumerRecord`s, and the feed
asks for them. Fails when an aiokafka upgrade moves the method the module wraps."""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
import pytest
from aiokafka.consumer.fetcher import READ_UNCOMMITTED, PartitionRecords
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import ConsumerRecord, TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from streams import kafka_records
from streams.batch import RawRecord
from streams.feed import CityEventFeed
from streams.settings import WorkerSettings

_keys = st.one_of(st.none(), st.binary(max_size=40))
_values = st.one_of(st.none(), st.binary(max_size=200))


def _fetched(
    pairs: list[tuple[bytes | None, bytes | None]], key_deserializer: Any, base: int = 0
) -> PartitionRecords:
    """One partition's fetch as aiokafka parses it off the wire."""
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=0, producer_id=-1,
        producer_epoch=-1, base_sequence=-1, batch_size=1 << 22,
    )  # fmt: skip
    for i, (key, value) in enumerate(pairs):
        builder.append(i, timestamp=None, key=key, value=value, headers=[])
    records = MemoryRecords(bytes(builder.build()))
    return PartitionRecords(
        TopicPartition("city-events.v1", 3), records, [], base, key_deserializer, None,
        True, READ_UNCOMMITTED,
    )  # fmt: skip


def test_install_finds_what_it_wraps() -> None:
    assert kafka_records.install()
    assert kafka_records.install()  # once per process: the second call changes nothing


@given(st.lists(st.tuples(_keys, _values), min_size=1, max_size=30))
def test_a_raw_consumer_gets_raw_records_with_every_field(
    pairs: list[tuple[bytes | None, bytes | None]],
) -> None:
    assert kafka_records.install()
    got = list(_fetched(pairs, kafka_records.raw_keys))
    assert all(type(r) is RawRecord for r in got)
    assert got == [
        RawRecord("city-events.v1", 3, offset, key, value)
        for offset, (key, value) in enumerate(pairs)
    ]


@given(st.lists(st.tuples(_keys, _values), min_size=1, max_size=30))
def test_other_consumers_keep_consumer_records(
    pairs: list[tuple[bytes | None, bytes | None]],
) -> None:
    assert kafka_records.install()
    got = list(_fetched(pairs, None))
    assert all(type(r) is ConsumerRecord for r in got)
    assert [(r.offset, r.key, r.value, r.headers) for r in got] == [
        (offset, key, value, ()) for offset, (key, value) in enumerate(pairs)
    ]


def test_records_below_the_fetch_offset_are_still_skipped() -> None:
    assert kafka_records.install()
    got = list(_fetched([(None, b"a"), (None, b"b"), (None, b"c")], kafka_records.raw_keys, 2))
    assert got == [RawRecord("city-events.v1", 3, 2, None, b"c")]


@given(st.lists(st.lists(st.tuples(_keys, _values), max_size=5), max_size=4))
def test_as_raw_records_takes_either_kind_alike(
    partitions: list[list[tuple[bytes | None, bytes | None]]],
) -> None:
    raw = [
        [RawRecord("t", p, o, k, v) for o, (k, v) in enumerate(pairs)]
        for p, pairs in enumerate(partitions)
    ]
    built = [[_consumer_record(r) for r in rs] for rs in raw]
    flat = [r for rs in raw for r in rs]
    assert kafka_records.as_raw_records(raw) == flat
    assert kafka_records.as_raw_records(built) == flat


def _consumer_record(r: RawRecord) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(r.topic, r.partition, r.offset, 0, 0, r.key, r.value, None, 0, 0, ())


def test_the_feed_asks_for_raw_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live path: the feed's consumer is made with `raw_keys`, after `install`."""
    made: dict[str, Any] = {}

    class Stop(Exception):
        pass

    class Consumer:
        def __init__(self, **kwargs: Any) -> None:
            made.update(kwargs)
            made["installed"] = kafka_records._installed

        async def start(self) -> None:
            raise Stop

        async def stop(self) -> None:
            pass

    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", Consumer)
    feed: CityEventFeed[None] = CityEventFeed(
        "localhost:1", WorkerSettings(), "city-events.v1", "g", "c", dict
    )

    async def never(_: Any) -> None:
        raise AssertionError("no batch without a consumer")

    with pytest.raises(Stop):
        asyncio.run(feed.run(never, never))
    assert made["key_deserializer"] is kafka_records.raw_keys
    assert made["installed"] is True
