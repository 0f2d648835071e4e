"""bench/store_cpu.py writes through the worker's own store, what the worker's batch step
makes: a change to either shows in its figures."""

from __future__ import annotations

import streams.batch
import streams.sink
from bench import store_cpu


def test_batches_are_the_worker_batch_step_over_the_bench_events() -> None:
    work = store_cpu.batches(12_000)
    assert [len(b.readings) for b in work] == [5000, 5000, 2000]
    assert all(b.stats and not b.dead for b in work)
    # Every hotspot's estimate and two zones each, one minute: the stats keys the sink
    # upserts, the same number in each full batch.
    assert len(work[0].stats) == len(work[1].stats) > 0


def test_the_bench_writes_with_the_workers_classes_not_copies() -> None:
    assert store_cpu.PostgresBatchStore is streams.sink.PostgresBatchStore
    assert store_cpu.BatchProcessor is streams.batch.BatchProcessor
