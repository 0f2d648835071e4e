"""PostgreSQL's CPU per stored event: the worker's write path against the project's database.

The same fixed events as `bench/batch_cpu.py`, validated and routed by the worker's
`BatchProcessor` into 5,000-event batches, then written by the worker's own
`PostgresBatchStore` (binary COPY of raw rows, 1-minute upserts, offsets, one
transaction a batch) into a fresh schema migrated as shipped. Measured: the CPU the
store's database backend spends (from /proc, found by its application_name), the
client's CPU, and the size of the raw rows' table and its indexes.

With two workers on two cores shared with PostgreSQL, the database's cost per event is
what bounds how far a second worker scales (docs/benchmarks.md, issue 18), so this is
measured apart from the worker, where this machine's noise is smaller.

`--compare-index` also runs, alternating with the shipped schema in the same minutes, the
same writes into a schema whose reading indexes are rebuilt as they were before
migration 0023 (`(area_code, event_time DESC)`), to compare the two.

Needs the project's PostgreSQL (`citypulse db start`).

    python bench/store_cpu.py [--events 500000] [--rounds 3] [--compare-index]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import cpu_split  # noqa: E402
from bench.batch_cpu import T0, fetches, records  # noqa: E402
from citypulse.config import StackSettings  # noqa: E402
from infra.db.migrate import drop_schema, migrate  # noqa: E402
from sensors.registry import hotspots_by_code  # noqa: E402
from streams.batch import BatchProcessor, BatchResult  # noqa: E402
from streams.sink import PostgresBatchStore  # noqa: E402

APP = "citypulse-store-bench"
# The reading indexes as 0002 made them, before 0023 turned them ascending.
BEFORE_0023 = (
    "DROP INDEX crowd_readings_area_time",
    "CREATE INDEX crowd_readings_area_time ON crowd_readings (area_code, event_time DESC)",
    "DROP INDEX environment_readings_sensor_time",
    "CREATE INDEX environment_readings_sensor_time ON environment_readings"
    " (sensor_id, event_time DESC)",
)


def batches(events: int) -> list[BatchResult]:
    """The worker's batch step over the bench's events: what its store is handed."""
    processor = BatchProcessor(hotspots_by_code())
    now = T0 + timedelta(seconds=events * 20e-6 + 1)
    out = [processor.process(batch, {}, now) for batch in fetches(records(events))]
    stored = sum(len(b.readings) for b in out)
    if stored != events:
        raise RuntimeError(f"only {stored} of {events} events became readings")
    return out


def _cpu_s(pid: int) -> float:
    stat = cpu_split.parse_stat(Path(f"/proc/{pid}/stat").read_text())
    return stat.cpu_ticks / os.sysconf("SC_CLK_TCK")


def write_all(
    settings: StackSettings, work: list[BatchResult], before_0023: bool
) -> dict[str, Any]:
    schema = f"storecpu{uuid.uuid4().hex[:8]}"
    s = settings.model_copy(update={"db_schema": schema})
    conninfo = s.db_conninfo.replace("application_name=citypulse", f"application_name={APP}")
    migrate(s.db_conninfo, schema)
    store = PostgresBatchStore(conninfo, consumer="store-bench")
    try:
        with psycopg.connect(s.db_conninfo, autocommit=True) as admin:
            if before_0023:
                for statement in BEFORE_0023:
                    admin.execute(statement)
            store.stored_offsets("city-events")  # opens the store's connection
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
                " ORDER BY backend_start DESC LIMIT 1",
                (APP,),
            ).fetchone()
            if row is None:
                raise RuntimeError("the store's backend is not in pg_stat_activity")
            pid = int(row[0])
            server0, client0, wall0 = _cpu_s(pid), time.process_time(), time.perf_counter()
            for batch in work:
                store.write(batch)
            wall = time.perf_counter() - wall0
            client, server = time.process_time() - client0, _cpu_s(pid) - server0
            sizes = admin.execute(
                "SELECT coalesce(sum(pg_relation_size(inhrelid)), 0),"
                " coalesce(sum(pg_indexes_size(inhrelid)), 0)"
                " FROM pg_inherits WHERE inhparent = 'crowd_readings'::regclass"
            ).fetchone()
            if sizes is None:
                raise RuntimeError("no size for crowd_readings")
            stored = admin.execute("SELECT count(*) FROM crowd_readings").fetchone()
            events = sum(len(b.readings) for b in work)
            if stored is None or int(stored[0]) != events:
                raise RuntimeError(f"stored {stored} rows of {events}")
    finally:
        store.close()
        drop_schema(s.db_conninfo, schema)
    return {
        "index": "before_0023" if before_0023 else "shipped",
        "server_us_per_event": round(server / events * 1e6, 2),
        "client_us_per_event": round(client / events * 1e6, 2),
        "wall_us_per_event": round(wall / events * 1e6, 2),
        "readings_heap_mb": round(float(sizes[0]) / 1e6, 1),
        "readings_index_mb": round(float(sizes[1]) / 1e6, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--compare-index",
        action="store_true",
        help="also write into the indexes as before migration 0023, alternating",
    )
    args = ap.parse_args()
    settings = StackSettings()
    work = batches(args.events)
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        for before in (False, True) if args.compare_index else (False,):
            runs.append(write_all(settings, work, before))
            print(json.dumps(runs[-1]), flush=True)
    summary: dict[str, Any] = {"events": args.events, "rounds": args.rounds}
    for kind in sorted({r["index"] for r in runs}):
        mine = [r for r in runs if r["index"] == kind]
        summary[kind] = {
            key: round(statistics.median(r[key] for r in mine), 2)
            for key in mine[0]
            if key != "index"
        }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
