"""CPU cost per event of the worker's batch step: validation and routing, then the live fold.

The same fixed events every run (every hotspot, a telecom estimate and two zone counts
each, 20 µs apart, on 8 partitions), in 5,000-event batches as the worker takes them:
each batch's records grouped by partition, as aiokafka's `getmany` hands them over and
streams/feed.py passes them on. No Kafka, no database. Prints CPU µs per event (process
time, min of `--repeat` runs).

This machine's core speed varies by tens of percent from one minute to the next, so
`--instructions` also counts instructions with valgrind's callgrind, which gives the same
number on every run: the count for 21,000 events minus the count for 1,000 (startup),
divided by 20,000, minus the same count of a run that only builds the test records and
their batches. That is `instructions_per_event`: the worker's own share, what it spends on
records Kafka hands it already built. Until 2026-12-02 the bench's headline figure
included building the test records (about 8,800 instructions an event with the
grouping into batches, 30,000 before the templates); that figure is still printed as
`with_record_build_instructions_per_event`, to compare with the rows of
docs/benchmarks.md from before.

    python bench/batch_cpu.py [--events 100000] [--instructions]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import callgrind  # noqa: E402
from sensors.registry import hotspots_by_code  # noqa: E402
from streams.batch import BatchProcessor, RawRecord, fold_isolating  # noqa: E402
from streams.live import LiveStates  # noqa: E402

BATCH = 5000
T0 = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def records(count: int) -> list[RawRecord]:
    """The bench's records: every hotspot in turn, a telecom estimate and two zone counts
    each, 20 µs apart from T0. The bytes are those `encode_event` gives (the project's
    producers: tests/unit/bench/test_bench_batch_cpu.py), built from templates: the build
    is not counted in `instructions_per_event`, but it should cost little beside it."""
    codes = sorted(hotspots_by_code())
    head = T0.isoformat()[:17].encode()  # "2026-11-30T05:00:"
    zone = ',"area_code":"{}","zone_id":"Z{}","counter_id":"c{}","count":200,"walkable_m2":500.0}}'
    bodies = [
        [
            f',"area_code":"{code}","people_min":100,"people_max":200}}'.encode()
            if kind == 0
            else zone.format(code, kind, kind).encode()
            for kind in range(3)
        ]
        for code in codes
    ]
    keys = [code.encode() for code in codes]
    if count * 20 >= 60_000_000:
        raise ValueError("the templates cover one minute of events (3,000,000)")
    # One format per kind and event: the time twice, with and without a fraction of a second.
    fraction, whole = [], []
    for kind in ("population_estimate", "zone_count", "zone_count"):
        start = b'{"kind":"%s","v":1,"event_id":"b%%d","source":"bench","event_time":"' % (
            kind.encode()
        )
        fraction.append(start + head + b'%02d.%06d+00:00","ingest_time":"' + head
                        + b'%02d.%06d+00:00"%s')  # fmt: skip
        whole.append(start + head + b'%02d+00:00","ingest_time":"' + head + b'%02d+00:00"%s')
    out = []
    n = len(codes)
    for i in range(count):
        second, micro = divmod(20 * i, 1_000_000)
        code, kind = i % n, i % 3
        if micro:
            value = fraction[kind] % (i, second, micro, second, micro, bodies[code][kind])
        else:
            value = whole[kind] % (i, second, second, bodies[code][kind])
        out.append(RawRecord("city-events", i % 8, i, keys[code], value))
    return out


def fetches(recs: list[RawRecord]) -> list[list[RawRecord]]:
    """`recs` in batches of `BATCH`, each batch's records grouped by partition (in the
    order each partition first comes), as streams/feed.py builds a batch from `getmany`:
    a list per partition, the lists one after another."""
    out = []
    for i in range(0, len(recs), BATCH):
        by_partition: dict[int, list[RawRecord]] = {}
        for rec in recs[i : i + BATCH]:
            by_partition.setdefault(rec.partition, []).append(rec)
        out.append([rec for part in by_partition.values() for rec in part])
    return out


def run_once(batches: list[list[RawRecord]]) -> float:
    """CPU seconds to validate, route and fold `batches`, as the worker does."""
    hotspots = hotspots_by_code()
    processor, live = BatchProcessor(hotspots), LiveStates(hotspots)
    events = sum(map(len, batches))
    now = T0 + timedelta(seconds=events * 20e-6 + 1)
    began = time.process_time()
    counted = 0
    for batch in batches:
        result = processor.process(batch, {}, now)
        fold_isolating(live.apply, result)  # as StatePipeline.prepare_batch
        counted += len(result.readings)
    spent = time.process_time() - began
    if counted != events:
        raise RuntimeError(f"only {counted} of {events} events were counted")
    return spent


def instructions(events: int, *extra: str) -> int:
    """Instructions callgrind counts for a whole run of this script over `events`."""
    return callgrind.instructions(
        __file__, "--events", str(events), "--repeat", "1", "--json-only", *extra
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--instructions", action="store_true", help="count with valgrind too")
    ap.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    gc.set_threshold(50_000, 20, 20)  # as the worker (streams/worker.py)
    batches = fetches(records(args.events))
    if args.build_only:
        return 0
    best = min(run_once(batches) for _ in range(args.repeat))
    summary: dict[str, object] = {
        "events": args.events,
        "cpu_us_per_event": round(best / args.events * 1e6, 2),
    }
    if args.instructions:
        per_event = (instructions(21_000) - instructions(1_000)) / 20_000
        building = instructions(21_000, "--build-only") - instructions(1_000, "--build-only")
        summary["instructions_per_event"] = round(per_event - building / 20_000)
        summary["with_record_build_instructions_per_event"] = round(per_event)
    if not args.json_only:
        print(f"validation + live fold: {summary['cpu_us_per_event']} CPU µs/event (best of "
              f"{args.repeat} over {args.events:,} events)")  # fmt: skip
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
