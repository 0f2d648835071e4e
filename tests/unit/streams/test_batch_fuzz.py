"""Property and fuzz tests of the whole batch path: decode, validate, route, fold into live
state, store (an in-memory store that refuses what PostgreSQL refuses). Whatever the
bytes, every record is stored or dead-lettered with a reason, nothing raises, and the
offsets cover every record.

CITYPULSE_FUZZ_EXAMPLES (default 200) sets the Hypothesis examples, CITYPULSE_FUZZ_RECORDS
(default 5,000) the seeded feed; the same feed against the real database is
tests/integration/streams/test_streams_fuzz.py (docs/benchmarks.md, "Fuzz").
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from itertools import islice

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, BatchResult, RawRecord, fold_isolating
from streams.live import LiveStates
from streams.sink import store_or_isolate
from tests.hostile_events import (
    KINDS,
    HostileFeed,
    assert_every_record_accounted,
    named,
    valid_event,
)
from tests.unit.streams.memory_store import MemoryStore

NOW = datetime(2026, 6, 13, 4, 0, 30, tzinfo=UTC)
HOTSPOTS = hotspots_by_code()
NAMED = named(NOW - timedelta(seconds=20))
EXAMPLES = int(os.environ.get("CITYPULSE_FUZZ_EXAMPLES", "200"))  # Hypothesis examples per test
FIELDS = sorted({k for kind in KINDS for k in valid_event(kind, "x", NOW)} | {"extra"})


class Worker:
    """The worker's batch steps in order (streams/agents.py), without Kafka."""

    def __init__(self) -> None:
        self.processor = BatchProcessor(HOTSPOTS)
        self.live = LiveStates(HOTSPOTS)
        self.store = MemoryStore()
        self.offset = 0  # records sent, over both partitions
        self._next = [0, 0]

    def run(self, values: list[bytes], now: datetime = NOW) -> BatchResult:
        recs = []
        for i, value in enumerate(values):  # alternate partitions, each with its own offsets
            partition = (self.offset + i) % 2
            recs.append(RawRecord("t", partition, self._next[partition], b"k", value))
            self._next[partition] += 1
        recs.sort(key=lambda r: (r.partition, r.offset))
        self.offset += len(values)
        result = self.processor.process(recs, self.store.stored_offsets("t"), now)
        fold_isolating(self.live.apply, result)
        while store_or_isolate(self.store, result):
            pass
        assert_every_record_accounted(recs, result)
        for area, zone in sorted(self.live.keys(), key=str):  # the state timer must not fail either
            self.live.state(area, zone, now)
        return result


def test_every_named_attack_is_dead_lettered_and_its_neighbours_stored() -> None:
    worker = Worker()
    names = sorted(NAMED)
    good = [json.dumps(valid_event(k, f"good-{k}", NOW - timedelta(seconds=5))).encode()
            for k in KINDS]  # fmt: skip
    result = worker.run([*good, *(NAMED[n] for n in names)])

    assert len(result.dead) == len(names)
    assert {d.record.value for d in result.dead} == set(NAMED.values())
    assert sorted(worker.store.readings) == ["good-population_estimate", "good-zone_count"]
    assert worker.store.environment == ["good-environment_reading"]
    total = len(good) + len(names)
    assert worker.store.offsets == {("t", 0): (total + 1) // 2, ("t", 1): total // 2}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()  # NaN and infinities included
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(KINDS))
    doc: dict[str, object] = valid_event(kind, f"m{draw(st.integers(0, 50))}", NOW)
    doc.update(draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3)))
    return json.dumps(doc, allow_nan=True).encode()


payloads = st.one_of(
    mutated_events(),
    st.binary(max_size=300),
    st.sampled_from(sorted(NAMED.values())),
    json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(st.lists(payloads, max_size=25), min_size=1, max_size=3))
def test_any_bytes_end_stored_or_dead_lettered(batches: list[list[bytes]]) -> None:
    worker = Worker()
    for values in batches:
        worker.run(values)
    assert sum(worker.store.offsets.values()) == worker.offset  # offsets exact


def test_a_seeded_hostile_feed_through_the_batch_path() -> None:
    """CITYPULSE_FUZZ_RECORDS (default 5,000) records in batches of 500."""
    total = int(os.environ.get("CITYPULSE_FUZZ_RECORDS", "5000"))
    worker, feed = Worker(), HostileFeed(seed=13, now=NOW)
    dead = accepted = rows = 0
    while worker.offset < total:
        result = worker.run(list(islice(feed, min(500, total - worker.offset))))
        dead += len(result.dead)
        accepted += len(result.events)
        rows += len(result.readings) + len(result.environment)
    assert sum(worker.store.offsets.values()) == total
    assert sum(worker.store.dead_counts.values()) == dead
    assert len(worker.store.readings) + len(worker.store.environment) == rows
    assert dead > total // 3 and accepted > total // 4  # the feed is a mix, as built
