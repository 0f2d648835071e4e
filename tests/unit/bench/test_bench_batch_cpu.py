"""bench/batch_cpu.py measures the worker's own path: the same records, the same door."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import pytest

import streams.batch
from bench import batch_cpu
from citypulse.domain.area_state import AreaState
from sensors.events import PopulationEstimate, ZoneCount, decode_event, encode_event
from sensors.lean import LeanPopulationEstimate, LeanRun, LeanZoneCount, decode_lean_run
from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, DeadLetter
from streams.live import LiveStates
from streams.pipeline import StatePipeline


def test_records_are_the_events_the_producers_send_with_their_keys_in_order() -> None:
    """The bench's records decode to the events meant, with the keys in encode_event's
    order (the kind first, which the fast door's decoding cost depends on); the bench's
    producer leaves out the keys that hold their defaults."""
    codes = sorted(hotspots_by_code())
    recs = batch_cpu.records(50_003)  # 50,000 lands on a whole second (no fraction)
    for i in (0, 1, 2, 3, 119, 120, 49_999, 50_000, 50_002):
        code, kind = codes[i % len(codes)], i % 3
        at = batch_cpu.T0 + timedelta(microseconds=20 * i)
        head = {"event_id": f"b{i}", "source": "bench", "event_time": at, "ingest_time": at}
        event = (
            PopulationEstimate(**head, area_code=code, people_min=100, people_max=200)
            if kind == 0
            else ZoneCount(
                **head, area_code=code, zone_id=f"Z{kind}", counter_id=f"c{kind}", count=200,
                walkable_m2=500.0,
            )
        )  # fmt: skip
        rec = recs[i]
        assert (rec.topic, rec.partition, rec.offset, rec.key) == (
            "city-events", i % 8, i, code.encode()
        )  # fmt: skip
        assert decode_event(rec.value) == event
        assert rec.value is not None
        sent = [k for k, _ in json.loads(rec.value, object_pairs_hook=list)]
        defaults = {"congestion_level", "replaced", "forecast", "confidence"}
        wire = [k for k, _ in json.loads(encode_event(event), object_pairs_hook=list)]
        assert sent == [k for k in wire if k not in defaults]


class _Outlet:
    def __init__(self) -> None:
        self.dead: list[DeadLetter] = []

    async def send_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        self.dead.extend(dead)

    async def send_states(self, states: Sequence[AreaState]) -> None:
        pass


async def test_the_worker_takes_the_door_the_bench_measures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fails if the worker's pipeline stops decoding through the fast door the bench
    counts (the whole run of each partition at once), or the bench stops calling the
    worker's code or feeding it batches as the worker gets them."""
    seen: list[bytes | None] = []

    def counting(raws: list[bytes | None]) -> LeanRun | None:
        seen.extend(raws)
        return decode_lean_run(raws)

    def never(raw: bytes | None) -> None:
        raise AssertionError("a bench record was taken one by one")

    monkeypatch.setattr(streams.batch, "decode_lean_run", counting)
    monkeypatch.setattr(streams.batch, "decode_lean", never)
    recs = batch_cpu.records(300)
    (batch,) = batch_cpu.fetches(recs)
    batch_cpu.run_once([batch])
    assert seen == [rec.value for rec in batch]
    seen.clear()

    hotspots = hotspots_by_code()
    outlet = _Outlet()
    pipeline = StatePipeline(
        BatchProcessor(hotspots), LiveStates(hotspots), outlet, writer=None,  # type: ignore[arg-type]
        read_offsets=dict, refresh_every_s=5.0, clock=lambda: batch_cpu.T0 + timedelta(minutes=1),
    )  # fmt: skip
    result = await pipeline.prepare_batch(batch)
    assert seen == [rec.value for rec in batch]
    assert not outlet.dead and len(result.readings) == len(recs)
    assert {type(e) for e in result.events} == {LeanPopulationEstimate, LeanZoneCount}
    assert pipeline.changed  # folded into live state


def test_batches_hold_each_partition_together_as_the_feed_builds_them() -> None:
    """streams/feed.py: a list per partition from getmany, one after another."""
    recs = batch_cpu.records(12_000)
    batches = batch_cpu.fetches(recs)
    assert [len(b) for b in batches] == [5000, 5000, 2000]
    for i, batch in enumerate(batches):
        chunk = recs[i * batch_cpu.BATCH : (i + 1) * batch_cpu.BATCH]
        assert sorted(batch, key=lambda r: r.offset) == chunk
        partitions = [r.partition for r in batch]
        runs = [p for j, p in enumerate(partitions) if j == 0 or p != partitions[j - 1]]
        assert runs == sorted(set(partitions))  # each partition in one run, in first order
        for p in runs:
            offsets = [r.offset for r in batch if r.partition == p]
            assert offsets == sorted(offsets)
