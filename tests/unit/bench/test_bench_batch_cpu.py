"""bench/batch_cpu.py measures the worker's own path: the same records, the same door."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

import streams.batch
from bench import batch_cpu
from citypulse.domain.area_state import AreaState
from sensors.lean import LeanPopulationEstimate, LeanZoneCount, decode_lean
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
    counts (or the bench stops calling the worker's code)."""
    seen: list[bytes | None] = []

    def counting(raw: bytes | None) -> LeanPopulationEstimate | LeanZoneCount | None:
        seen.append(raw)
        return decode_lean(raw)

    monkeypatch.setattr(streams.batch, "decode_lean", counting)
    recs = batch_cpu.records(300)
    batch_cpu.run_once(recs)
    assert len(seen) == len(recs)
    seen.clear()

    hotspots = hotspots_by_code()
    outlet = _Outlet()
    pipeline = StatePipeline(
        BatchProcessor(hotspots), LiveStates(hotspots), outlet, writer=None,  # type: ignore[arg-type]
        read_offsets=dict, refresh_every_s=5.0, clock=lambda: batch_cpu.T0 + timedelta(minutes=1),
    )  # fmt: skip
    result = await pipeline.prepare_batch(recs)
    assert seen == [rec.value for rec in recs]
    assert not outlet.dead and len(result.readings) == len(recs)
    assert {type(e) for e in result.events} == {LeanPopulationEstimate, LeanZoneCount}
    assert pipeline.changed  # folded into live state
