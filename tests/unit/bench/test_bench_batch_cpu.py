"""bench/batch_cpu.py measures the worker's own path: the same records, the same door."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

import streams.batch
from bench import batch_cpu
from citypulse.domain.area_state import AreaState
from sensors.lean import LeanEvent, LeanPopulationEstimate, LeanZoneCount, decode_lean_many
from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, DeadLetter, RawRecord
from streams.live import LiveStates
from streams.pipeline import StatePipeline


def test_records_are_the_bytes_an_fstring_and_isoformat_give() -> None:
    codes = sorted(hotspots_by_code())
    recs = batch_cpu.records(50_003)  # 50,000 lands on a whole second (no fraction)
    for i in (0, 1, 2, 3, 119, 120, 49_999, 50_000, 50_002):
        code, kind = codes[i % len(codes)], i % 3
        at = (batch_cpu.T0 + timedelta(microseconds=20 * i)).isoformat()
        body = (
            f'"kind":"population_estimate","area_code":"{code}","people_min":100,"people_max":200}}'
            if kind == 0
            else f'"kind":"zone_count","area_code":"{code}","zone_id":"Z{kind}",'
            f'"counter_id":"c{kind}","count":200,"walkable_m2":500.0}}'
        )
        value = f'{{"v":1,"event_id":"b{i}","source":"bench","event_time":"{at}",'
        value += f'"ingest_time":"{at}",{body}'
        assert recs[i] == RawRecord("city-events", i % 8, i, code.encode(), value.encode())


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

    def counting(raws: list[bytes | None]) -> list[LeanEvent] | None:
        seen.extend(raws)
        return decode_lean_many(raws)

    def never(raw: bytes | None) -> None:
        raise AssertionError("a bench record was taken one by one")

    monkeypatch.setattr(streams.batch, "decode_lean_many", counting)
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
