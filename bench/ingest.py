"""End-to-end ingest of one stream worker: throughput, state latency and memory.

Starts its own worker subprocess (Faust, like `citypulse up`) on a fresh topic prefix and
database schema of the services named by the CITYPULSE_* variables (default: the dev
stack), then at each rate publishes live events (event and ingest time = the send instant,
this machine's clock) and measures:
- throughput: records committed in the database (stream_offsets) per second, against
  what was produced; `max` is a backlog: the workers stop, the events are published at
  full speed, the workers start again and are timed from when their group has settled
  until every event is committed (a worker back from an outage; the producer no longer
  shares the cores while the worker drains, as it did here before 2026-12-03);
- latency: for every area-state message, its receive time minus its `as_of` (the newest
  event's time, equal to its ingest time here), p50, p99 and max, after `--warmup-s`
  (10 s) at the step's rate; the warm-up's own p99 and max are printed beside them;
- consume-only: after the steps, one aiokafka consumer in a process of its own reads the
  same topic from the start and does nothing else (the median of three such reads); the
  `max` step's rate is printed as a ratio of it (`ratio_to_consume_only`), so the figure
  does not depend on the machine;
- CPU in the `max` step (`bench/cpu_split.py`): the workers', PostgreSQL's, Kafka's and
  the rest of the machine's, per event and in cores, from the group settling to the last
  commit; with one worker, `two_worker_bound` is the most two can reach on two cores
  with that split (2 / (1 + o / w));
- worker RSS every second (`--duration-s N` adds a soak at `--soak-rate` for the curve);
  with `--workers N`, N workers share the partitions in one group and RSS is their sum.
Topics, schema and worker are removed at the end.

    CITYPULSE_KAFKA_PORT=29092 CITYPULSE_DB_PORT=25432 python bench/ingest.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from kafka import KafkaAdminClient  # noqa: E402
from kafka.errors import KafkaError  # noqa: E402

from bench import cpu_split  # noqa: E402
from bench.live_load import AreaStateReader, LiveLoad, produce_paced  # noqa: E402
from citypulse.config import StackSettings  # noqa: E402
from citypulse.processes import Daemon  # noqa: E402
from infra.db.migrate import drop_schema, migrate  # noqa: E402
from infra.kafka import broker  # noqa: E402
from sensors.simulator.bulk_publisher import publish_encoded  # noqa: E402


class StateLatencyProbe(AreaStateReader):
    """Receives area-state messages; latency = receive time - as_of (same machine's clock)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic, poll_ms=200)
        self.samples: list[tuple[float, float]] = []  # (received, latency)

    def handle(self, received: float, msgs: list[Any]) -> None:
        for m in msgs:
            as_of = datetime.fromisoformat(json.loads(m.value)["as_of"])
            self.samples.append((received, received - as_of.timestamp()))

    def take(self) -> list[tuple[float, float]]:
        out, self.samples = self.samples, []
        return out


class RssSampler(threading.Thread):
    """The summed RSS of the worker processes, every `every_s`. Their pids are read each
    time: the backlog step restarts them; a second with one of them down is not sampled."""

    def __init__(self, workers: list[Daemon], every_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.workers, self.every_s, self.began = workers, every_s, time.monotonic()
        self.curve: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            kb = 0
            for worker in self.workers:
                pid = worker.pid()
                try:
                    status = Path(f"/proc/{pid}/status").read_text() if pid else ""
                except FileNotFoundError:
                    status = ""
                if not status:
                    break
                kb += next(int(ln.split()[1]) for ln in status.splitlines() if ln[:6] == "VmRSS:")
            else:
                self.curve.append((time.monotonic() - self.began, kb / 1024))


class Progress:
    """What the workers have committed (their stored offsets), over one connection held for
    the run: a connection per poll, ten a second, forked a PostgreSQL backend and ran a
    SCRAM exchange each, on the cores the workers are measured on (a fifth of the bench
    process's CPU in a drain; perf, 2026-12-03)."""

    def __init__(self, conninfo: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)

    def committed(self) -> int:
        row = self.conn.execute(
            "SELECT coalesce(sum(next_offset), 0) FROM stream_offsets"
        ).fetchone()
        return int(str(row[0])) if row else 0

    def wait(self, target: int, timeout_s: float, workers: list[Daemon]) -> float:
        deadline = time.monotonic() + timeout_s
        while self.committed() < target:
            for worker in workers:
                if not worker.is_running():
                    raise RuntimeError(f"a worker died:\n{worker.log_tail(30)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.committed()} of {target} committed after {timeout_s}s")
            time.sleep(0.1)
        return time.monotonic()

    def close(self) -> None:
        self.conn.close()


def percentile(xs: list[float], q: float) -> float | None:
    return statistics.quantiles(xs, n=1000)[int(q * 1000) - 1] if len(xs) > 1 else None


def run_paced(s: StackSettings, progress: Progress, workers: list[Daemon], load: LiveLoad,
              probe: StateLatencyProbe, rate: float, secs: float, produced: int,
              warmup_s: float = 0.0) -> tuple[dict[str, Any], int]:  # fmt: skip
    """`secs` at `rate` after `warmup_s` at it. The latency percentiles are of the states
    received after the warm-up; the warm-up's own are reported beside them. (On this
    machine the first seconds of a step from idle, each run on new topics and tables,
    were slower by up to 0.7 s, then steady: the percentiles describe a worker already
    running at the rate, `warmup_*` the ramp from idle.)"""
    topic = s.topic("city-events.v1")
    probe.paused.clear()
    probe.take()
    began, before = time.monotonic(), progress.committed()
    measured_from = time.time() + warmup_s  # the probe's clock
    sent = asyncio.run(produce_paced(load, s.kafka_bootstrap, topic, rate, warmup_s + secs))
    elapsed = time.monotonic() - began
    lag_at_end = produced + sent - progress.committed()
    done = progress.wait(produced + sent, 120, workers)
    samples = probe.take()
    lat = [x for at, x in samples if at >= measured_from]
    warm = [x for at, x in samples if at < measured_from]
    step = {
        "rate_target": rate,
        "produced_per_s": round(sent / elapsed),
        "committed_per_s": round((produced + sent - before) / (done - began)),
        "lag_at_end": lag_at_end,
        "drain_s": round(done - began - elapsed, 2),
        "p50_s": percentile(lat, 0.5),
        "p99_s": percentile(lat, 0.99),
        "max_s": max(lat, default=None),
        "state_messages": len(lat),
        "warmup_s": warmup_s,
        "warmup_p99_s": percentile(warm, 0.99),
        "warmup_max_s": max(warm, default=None),
    }
    return step, produced + sent


def run_max(
    s: StackSettings,
    progress: Progress,
    workers: list[Daemon],
    restart: Callable[[], object],
    load: LiveLoad,
    events: int,
    produced: int,
) -> tuple[dict[str, Any], int]:
    """A backlog of `events`, published while the workers are stopped, then drained by
    them (`restart`). The rate counts what was committed after their group settled, so
    neither the producer nor the workers' start-up is in it; both are reported apart."""
    pairs = [load.make() for _ in range(events)]  # stamped before: latency is meaningless here
    for worker in workers:
        worker.stop(timeout_s=20)
    began = time.monotonic()
    acked = asyncio.run(publish_encoded(pairs, s.kafka_bootstrap, s.topic("city-events.v1")))
    published = time.monotonic()
    restart()
    wait_members(s, len(workers))
    settled, already = time.monotonic(), progress.committed() - produced
    pids = [p for p in (w.pid() for w in workers) if p is not None]
    cpu_before = cpu_split.snapshot(pids)
    done = progress.wait(produced + acked, 300, workers)
    cpu = cpu_split.split(cpu_before, cpu_split.snapshot(pids), acked - already, done - settled)
    if len(workers) == 1:
        cpu["two_worker_bound"] = cpu_split.two_worker_bound(cpu["others_over_worker"])
    step = {
        "rate_target": "max",
        "events": acked,
        "produced_per_s": round(acked / (published - began)),
        "start_s": round(settled - published, 2),  # worker start-up and group join
        "committed_before_settled": already,
        "committed_per_s": round((acked - already) / (done - settled)),
        "cpu": cpu,  # per event and cores held, between the group settling and the last commit
    }
    return step, produced + acked


def _consume_all(bootstrap: str, topic: str, records: int, out: Any) -> None:
    """In a process of its own: read `records` records of `topic` from the start."""
    from aiokafka import AIOKafkaConsumer

    async def run() -> float:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
            enable_auto_commit=False,
        )  # fmt: skip
        await consumer.start()
        try:
            seen, began = 0, time.monotonic()
            while seen < records:
                batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                seen += sum(len(b) for b in batches.values())
            return seen / (time.monotonic() - began)
        finally:
            await consumer.stop()

    out.put(asyncio.run(run()))


def consume_only_rate(s: StackSettings, records: int, reads: int = 3) -> float:
    """Records/s one aiokafka process reads off the input topic, doing nothing else: the
    median of `reads` reads, each in a fresh process (one read of a million records takes
    2-3 s here, and this machine's speed moves by a third between such reads)."""
    ctx = mp.get_context("spawn")
    rates = []
    for _ in range(reads):
        out = ctx.Queue()
        proc = ctx.Process(
            target=_consume_all,
            args=(s.kafka_bootstrap, s.topic("city-events.v1"), records, out),
        )
        proc.start()
        try:
            rates.append(float(out.get(timeout=300)))
        finally:
            proc.join(10)
    return statistics.median(rates)


def wait_members(s: StackSettings, n: int, timeout_s: float = 120) -> None:
    """Until the ingest group is stable with `n` members that each hold partitions."""
    group_id, deadline = f"{s.topic_prefix}-ingest", time.monotonic() + timeout_s
    admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    try:
        while time.monotonic() < deadline:
            try:
                group = admin.describe_groups([group_id])[group_id]
            except KafkaError as exc:
                # A broker started a moment ago has no group coordinator yet
                # (__consumer_offsets is still being created): ask again.
                if not exc.retriable:
                    raise
                time.sleep(0.5)
                continue
            # Assignments are only decoded once the group is stable.
            if group["group_state"] == "Stable" and n == sum(
                1
                for m in group["members"]
                if any(a["partitions"] for a in m["member_assignment"]["assigned_partitions"])
            ):
                return
            time.sleep(0.5)
    finally:
        admin.close()
    raise TimeoutError(f"the ingest group did not settle with {n} workers in {timeout_s}s")


def start_worker(s: StackSettings, workdir: Path, env: dict[str, str], n: int = 1) -> Daemon:
    d = Daemon(f"{s.topic_prefix}-worker-{n}", workdir / "run", workdir / "log")
    base = {"CITYPULSE_" + k.upper(): str(v) for k, v in {
        "env": s.env, "var_dir": s.var_dir, "kafka_port": s.kafka_port,
        "kafka_controller_port": s.kafka_controller_port, "db_port": s.db_port,
        "topic_prefix": s.topic_prefix, "db_schema": s.db_schema, "worker_id": f"bench-{n}",
    }.items()}  # fmt: skip
    argv = [sys.executable, "-m", "faust", "-A", "streams.app", "worker", "-l", "warn"]
    d.start(argv, marker="streams.app", env={**base, **env, "PYTHONPATH": str(ROOT)}, cwd=workdir)
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short steps, under 60 s")
    ap.add_argument("--rates", default="1000,5000,20000,max", help="events/s per step, or max")
    ap.add_argument("--step-s", type=float, default=30.0)
    ap.add_argument("--warmup-s", type=float, default=10.0,
                    help="seconds at each paced rate before its latency is measured")  # fmt: skip
    ap.add_argument("--max-events", type=int, default=300_000)
    ap.add_argument("--duration-s", type=float, default=0.0, help="soak for the RSS curve")
    ap.add_argument("--soak-rate", type=float, default=5000.0)
    ap.add_argument("--worker-env", action="append", default=[], help="KEY=VALUE for the worker")
    ap.add_argument("--workers", type=int, default=1, help="worker processes in one group")
    args = ap.parse_args()
    if args.quick:
        args.rates, args.step_s, args.max_events = "1000,5000,max", 10.0, 60_000
        args.warmup_s = min(args.warmup_s, 3.0)
    tag = f"bench{uuid.uuid4().hex[:8]}"
    s = StackSettings().model_copy(update={"topic_prefix": tag, "db_schema": tag})
    migrate(s.db_conninfo, tag)
    names = broker.ensure_topics(s)
    workdir = Path(tempfile.mkdtemp(prefix="citypulse-bench-"))
    finished = False
    env = dict(kv.split("=", 1) for kv in args.worker_env)

    def start_workers() -> list[Daemon]:
        return [start_worker(s, workdir, env, n) for n in range(1, args.workers + 1)]

    workers = start_workers()
    progress = Progress(s.db_conninfo)
    steps: list[dict[str, Any]] = []
    try:
        load = LiveLoad()
        wait_members(s, args.workers)  # every worker is up and holds partitions
        produced = asyncio.run(produce_paced(load, s.kafka_bootstrap, s.topic("city-events.v1"),
                                             500, 1.0))  # fmt: skip
        progress.wait(produced, 120, workers)
        pids = [w.pid() for w in workers]
        if None in pids:
            tails = "".join(w.log_tail(30) for w in workers)
            raise RuntimeError(f"a worker is not running:\n{tails}")
        rss = RssSampler(workers)
        rss.start()
        probe = StateLatencyProbe(s.kafka_bootstrap, s.topic("area-state.v1"))
        probe.start()
        for rate in args.rates.split(","):
            if rate == "max":
                probe.paused.set()
                step, produced = run_max(
                    s, progress, workers, start_workers, load, args.max_events, produced
                )
            else:
                step, produced = run_paced(
                    s,
                    progress,
                    workers,
                    load,
                    probe,
                    float(rate),
                    args.step_s,
                    produced,
                    args.warmup_s,
                )
            steps.append(step)
            print(json.dumps(step), flush=True)
        if args.duration_s > 0:
            step, produced = run_paced(
                s, progress, workers, load, probe, args.soak_rate, args.duration_s, produced
            )
            steps.append({**step, "soak": True})
            print(json.dumps(steps[-1]), flush=True)
        probe.stop.set()
        rss.stop.set()
        consume_only = consume_only_rate(s, produced)
        print(json.dumps({"consume_only_per_s": round(consume_only)}), flush=True)
        curve = rss.curve[:: max(1, len(rss.curve) // 20)] + rss.curve[-1:]
        print("worker RSS (s, MB):", [(round(t), round(m, 1)) for t, m in curve])
        finished = True
    finally:
        progress.close()
        for worker in workers:
            worker.stop(timeout_s=20)
        broker.delete_topics(s, names)
        drop_schema(s.db_conninfo, tag)
        if finished:
            shutil.rmtree(workdir, ignore_errors=True)  # the workers' logs: kept on failure
        else:
            print(f"worker logs kept in {workdir}", file=sys.stderr)
    paced = [x for x in steps if x["rate_target"] != "max"]
    at_max = next((x for x in steps if x["rate_target"] == "max"), None)
    at5k = next((x for x in paced if x["rate_target"] == 5000.0), None)
    summary = {
        "events_per_s_max": max((x["committed_per_s"] for x in steps), default=None),
        "consume_only_per_s": round(consume_only),
        # the backlog step against one plain consumer of the same topic, same run
        "ratio_to_consume_only": at_max and round(at_max["committed_per_s"] / consume_only, 3),
        "cpu_at_max": at_max and at_max["cpu"],
        "p50_s_at_5000": at5k and at5k["p50_s"],
        "p99_s_at_5000": at5k and at5k["p99_s"],
        "rss_mb_first": round(rss.curve[0][1], 1) if rss.curve else None,
        "rss_mb_last": round(rss.curve[-1][1], 1) if rss.curve else None,
        "rss_mb_max": round(max(m for _, m in rss.curve), 1) if rss.curve else None,
        "steps": steps,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
