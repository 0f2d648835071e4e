"""p95 of the dashboard's history query: 24 hours at 1-minute resolution for one area,
over 30 days of 1-minute stats for 120 areas, in an isolated schema (dropped afterwards).

Uses the API's own query (dashboard_api.store.history.crowd_history) and row shaping.
Database from the CITYPULSE_DB_* settings (default: the dev stack's PostgreSQL).

    .venv/bin/python bench/history_query.py [--quick] [--days 30] [--queries 300]

The last line printed is a JSON object of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from citypulse.config import StackSettings  # noqa: E402
from dashboard_api.present import history_points  # noqa: E402
from dashboard_api.store.history import crowd_history  # noqa: E402
from infra.db.migrate import drop_schema, migrate  # noqa: E402

END = datetime(2026, 6, 1, tzinfo=UTC)


def generate(conninfo: str, areas: int, days: int) -> float:
    """One telecom row per area per minute, written with generate_series in the server."""
    start = END - timedelta(days=days)
    began = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT cp_ensure_day_partitions('crowd_stats_1m', %s, %s)", (start, END))
        for day in range(days):
            lo = start + timedelta(days=day)
            conn.execute(
                """INSERT INTO crowd_stats_1m
                   SELECT 'POI' || lpad(a::text, 3, '0'), '', 'telecom', b, 1, p, p, p, p, b, 20000
                     FROM generate_series(1, %s) a,
                          generate_series(%s::timestamptz, %s::timestamptz - interval '1 minute',
                                          interval '1 minute') b,
                          LATERAL (SELECT 5000 + 3000 * sin(extract(epoch FROM b) / 7200.0 + a))
                              s(p)
                """,
                (areas, lo, lo + timedelta(days=1)),
            )
        conn.execute("ANALYZE crowd_stats_1m")
    return time.perf_counter() - began


async def measure(
    conninfo: str, areas: int, days: int, queries: int
) -> tuple[list[float], list[float]]:
    """Per query: the whole call (query, fetch, shaping) and the shaping alone."""
    rng = random.Random(7)
    timings: list[float] = []
    shaping: list[float] = []
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        for i in range(queries + 20):
            area = f"POI{rng.randint(1, areas):03d}"
            end = END - timedelta(minutes=rng.randint(0, (days - 1) * 1440))
            began = time.perf_counter()
            rows = await crowd_history(conn, area, "", "1m", end - timedelta(hours=24), end)
            fetched = time.perf_counter()
            points = history_points(rows)
            elapsed = time.perf_counter() - began
            if len(points) != 1440:
                raise RuntimeError(f"expected 1440 points, got {len(points)}")
            if i >= 20:  # the first queries warm the plan and the cache
                timings.append(elapsed)
                shaping.append(began + elapsed - fetched)
    return timings, shaping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 days, 100 queries")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--areas", type=int, default=120)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    days, queries = (3, 100) if args.quick else (args.days, args.queries)
    settings = StackSettings()
    schema = f"bench_history_{int(time.time())}"
    conninfo = settings.model_copy(update={"db_schema": schema}).db_conninfo
    migrate(settings.db_conninfo, schema)
    try:
        load_s = generate(conninfo, args.areas, days)
        rows = args.areas * days * 1440
        print(
            f"generated {rows:,} crowd_stats_1m rows ({args.areas} areas x {days} days) "
            f"in {load_s:.1f} s"
        )
        timings, shaping = asyncio.run(measure(conninfo, args.areas, days, queries))
    finally:
        drop_schema(settings.db_conninfo, schema)
    q = statistics.quantiles(timings, n=100)
    result = {
        "rows": rows,
        "days": days,
        "areas": args.areas,
        "queries": len(timings),
        "points_per_query": 1440,
        "p50_ms": round(q[49] * 1000, 2),
        "p95_ms": round(q[94] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(max(timings) * 1000, 2),
        "shaping_p50_ms": round(statistics.median(shaping) * 1000, 2),  # history_points alone
        "target_p95_ms": 50,
    }
    print(
        f"24 h at 1 min: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"p99 {result['p99_ms']} ms over {len(timings)} queries"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
