"""Fetched Kafka records as the worker's `RawRecord`s, without aiokafka's `ConsumerRecord`s.

aiokafka (pinned in pyproject.toml) builds every fetched record into a `ConsumerRecord`
in Python: an eleven-field dataclass holding a tuple of its headers. The feed keeps five
of those fields, so it then copied each record into a `RawRecord`. On a backlog the two
objects per record took about a sixth of the worker's interpreter time, and one worker
drained 15-25 % more events a second without them (docs/benchmarks.md, 2026-12-03).

A consumer whose key deserializer is `raw_keys` gets `RawRecord`s from `getmany`
instead, built in C (a msgspec struct). `install` wraps the one method that builds the
`ConsumerRecord`, once per process; the wrapper still hands every other consumer (Faust's,
the producer-side tools) its `ConsumerRecord`. Should a future aiokafka not have that
method, nothing is wrapped, `getmany` returns `ConsumerRecord`s (the deserializer is the
identity), and `as_raw_records` copies them as the feed always did: slower, never wrong.
tests/unit/streams/test_kafka_records.py fails first.

Nothing here runs at import.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from streams.batch import RawRecord

log = logging.getLogger(__name__)

_installed = False


def raw_keys(key: bytes | None) -> bytes | None:
    """The key deserializer that marks a consumer as wanting `RawRecord`s. The identity, so
    a consumer made with it gets the same keys when `install` could not wrap anything."""
    return key


def install() -> bool:
    """Wrap aiokafka's record building once; True when consumers made with `raw_keys` get
    `RawRecord`s from now on."""
    global _installed
    if _installed:
        return True
    try:
        from aiokafka.consumer.fetcher import PartitionRecords

        build = PartitionRecords._consumer_record
    except (ImportError, AttributeError) as exc:
        log.warning("fetched records stay ConsumerRecords (aiokafka changed: %s)", exc)
        return False

    def consumer_record(self: Any, tp: Any, record: Any) -> Any:
        if getattr(self, "_key_deserializer", None) is raw_keys:
            return RawRecord(tp.topic, tp.partition, record.offset, record.key, record.value)
        return build(self, tp, record)

    PartitionRecords._consumer_record = consumer_record
    _installed = True
    return True


def as_raw_records(fetched: Iterable[Sequence[Any]]) -> list[RawRecord]:
    """The records of one `getmany` (its values), in order, as `RawRecord`s: those already
    (a consumer made with `raw_keys`) taken as they are, `ConsumerRecord`s copied."""
    records = [m for messages in fetched for m in messages]
    if records and type(records[0]) is not RawRecord:  # one consumer: all or none
        return [RawRecord(m.topic, m.partition, m.offset, m.key, m.value) for m in records]
    return records
