"""Ingest rate and alert latency in HA mode next to single-node mode, in one run.

Starts, one after the other on ports of their own under var/bench-ha/:
- single: one Kafka node and one PostgreSQL (the integration tests' way: pid files);
- ha: HA mode's three KRaft nodes (replication 3, min.insync.replicas=2, acks=all) and
  pg_auto_failover's monitor with sites a and b (a synchronous standby: every commit waits
  for site b), the clients on the multi-host read-write conninfo (CITYPULSE_HA=1);
and against each runs the same two benches as subprocesses with the same arguments:
`bench/ingest.py` (paced steps and a backlog at full speed: events committed per second)
and `bench/alert_latency.py` (a 심각 crossing under a 5,000 events/s background: crossing
to Kannel's acceptance). Both modes share one machine and one run, so compare them by
their ratio. Everything it started is stopped and its data removed at the end.

    python bench/ha_compare.py [--rates 5000,max] [--step-s 15] [--probes 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from citypulse.config import StackSettings  # noqa: E402
from infra.db import cluster as pg  # noqa: E402
from infra.db import ha  # noqa: E402
from infra.kafka import broker  # noqa: E402
from infra.kafka import cluster as kafka_cluster  # noqa: E402

VAR = ROOT / "var" / "bench-ha"
HEAP_MB = 384  # per Kafka node, both modes
SINGLE = StackSettings(env="test", var_dir=VAR / "single", kafka_port=47092,
                       kafka_controller_port=47093, db_port=47432,
                       kafka_heap_mb=HEAP_MB)  # fmt: skip
HA = StackSettings(env="test", ha=True, var_dir=VAR / "ha", kafka_port=47192,
                   kafka_controller_port=47193, db_port=47441, db_standby_port=47442,
                   db_monitor_port=47440, kafka_heap_mb=HEAP_MB)  # fmt: skip


def _fresh(s: StackSettings) -> None:
    """Remove what an earlier run left under the mode's var dir but Kafka's jars, and
    take the jars from another var dir of this checkout when there are some."""
    lib = broker.lib_dir(s)
    for child in s.var_dir.glob("*") if s.var_dir.exists() else []:
        if child.name != "kafka":
            shutil.rmtree(child, ignore_errors=True)
    for child in (s.var_dir / "kafka").glob("*"):
        if child.name != "lib":
            shutil.rmtree(child, ignore_errors=True)
    if (lib / ".complete").exists():
        return
    for found in sorted((ROOT / "var").glob(f"*/kafka/lib/{s.kafka_version}/.complete")):
        shutil.rmtree(lib, ignore_errors=True)
        shutil.copytree(found.parent, lib)
        return


def _env(s: StackSettings) -> dict[str, str]:
    return {
        "CITYPULSE_ENV": s.env, "CITYPULSE_VAR_DIR": str(s.var_dir),
        "CITYPULSE_HA": "1" if s.ha else "0",
        "CITYPULSE_KAFKA_PORT": str(s.kafka_port),
        "CITYPULSE_KAFKA_CONTROLLER_PORT": str(s.kafka_controller_port),
        "CITYPULSE_DB_PORT": str(s.db_port),
        "CITYPULSE_DB_STANDBY_PORT": str(s.db_standby_port),
        "CITYPULSE_DB_MONITOR_PORT": str(s.db_monitor_port),
        "CITYPULSE_KAFKA_HEAP_MB": str(s.kafka_heap_mb),
    }  # fmt: skip


def _wait(what: str, ready: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout_s:.0f} s")
        time.sleep(1)


@contextmanager
def single_stack() -> Iterator[StackSettings]:
    _fresh(SINGLE)
    pg.start(SINGLE)
    try:
        broker.start(SINGLE)
        try:
            yield SINGLE
        finally:
            broker.stop(SINGLE)
    finally:
        pg.stop(SINGLE)
        _fresh(SINGLE)


# Each running pg_autoctl service of the HA stack by node name ("monitor", "a", "b"):
# the failover measurement kills one.
PG_SERVICES: dict[str, subprocess.Popen[bytes]] = {}


@contextmanager
def ha_stack() -> Iterator[StackSettings]:
    s = HA
    _fresh(s)
    procs: list[subprocess.Popen[bytes]] = []
    PG_SERVICES.clear()
    try:
        ha.init(s)
        a, b = ha.sites(s)
        for node, ready in (
            (ha.monitor(s), lambda: ha.monitor_ready(s)),
            (a, lambda: ha.node_ready(s, a)),
            (b, lambda: ha.states(s).get("b", ("", ""))[0] == "secondary"),
        ):
            log = (ha.root(s) / f"{node.name}.log").open("ab")
            procs.append(subprocess.Popen(
                ha.command(s, node), env={**os.environ, **ha.env(s)}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            ))  # fmt: skip
            PG_SERVICES[node.name] = procs[-1]
            _wait(node.name, ready, 90)
        ha.ensure_role_and_database(s)
        kafka_cluster.start(s, timeout_s=180)
        yield s
    finally:
        kafka_cluster.stop(s, timeout_s=30)
        for proc in reversed(procs):
            try:
                os.killpg(proc.pid, signal.SIGINT)  # pg_autoctl: fast shutdown
            except ProcessLookupError:  # killed by the failover measurement
                continue
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        _fresh(s)


def _bench(script: str, args: list[str], s: StackSettings) -> dict[str, Any]:
    """Run a bench script against `s`, again (up to three times) when a cluster just
    started has no group coordinator yet (its offsets topic is made on first use; the
    first run of this script failed so in both modes)."""
    for _ in range(3):
        out = _bench_once(script, args, s)
        if "CoordinatorNotAvailable" not in str(out.get("error", "")):
            return out
        time.sleep(10)
    return out


def _bench_once(script: str, args: list[str], s: StackSettings) -> dict[str, Any]:
    """Run a bench script against `s`; its last line is its JSON summary."""
    res = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        env={**os.environ, **_env(s)}, cwd=ROOT, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip
    lines = [line for line in res.stdout.splitlines() if line.startswith("{")]
    if res.returncode != 0 or not lines:
        return {"error": (res.stdout + res.stderr)[-1500:]}
    out = dict(json.loads(lines[-1]))
    if out.get("missing"):  # what its worker and dispatcher logged
        out["log_tails"] = res.stderr[-4000:]
    return out


def _writable_again(s: StackSettings) -> bool:
    """A write commits through the clients' conninfo (read-write: the primary only)."""
    try:
        with psycopg.connect(s.db_conninfo, connect_timeout=2) as conn:
            conn.execute("SELECT txid_current()")  # an xid: refused by a standby
        return True
    except psycopg.Error:
        return False


def pg_failover_s(s: StackSettings) -> dict[str, Any]:
    """SIGKILL the PostgreSQL primary's whole pg_autoctl service (keeper and postmaster);
    seconds until a write commits again through the clients' multi-host conninfo."""
    primary = ha.primary(s)
    if primary is None or not _writable_again(s):
        return {"error": f"no primary to kill: {ha.states(s)}"}
    killed = time.monotonic()
    os.killpg(PG_SERVICES[primary.name].pid, signal.SIGKILL)
    while not _writable_again(s):
        if time.monotonic() - killed > 180:
            return {"killed": primary.name, "error": f"no primary after 180 s: {ha.states(s)}"}
        time.sleep(0.2)
    return {"killed": primary.name, "writable_again_s": round(time.monotonic() - killed, 1)}


async def _kafka_failover_s(s: StackSettings) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic, partitions = "bench-failover", 8
    admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 3)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all",
                                enable_idempotence=True, request_timeout_ms=60_000,
                                metadata_max_age_ms=5_000)  # fmt: skip
    await producer.start()
    try:

        async def every_partition() -> None:
            sends = [await producer.send(topic, b"probe", partition=p) for p in range(partitions)]
            await asyncio.gather(*sends)

        await asyncio.wait_for(every_partition(), 60)  # leaders known, all in sync
        node = s.kafka_nodes[0]
        killed = time.monotonic()
        kafka_cluster.kill_node(s, node)
        # Each round waits for every partition; the first round after the kill is the
        # one that sat out the leader elections of the killed node's partitions.
        await asyncio.wait_for(every_partition(), 180)
        return {"killed": node.name, "all_partitions_acked_s": round(time.monotonic() - killed, 1)}
    finally:
        await producer.stop()


def kafka_failover_s(s: StackSettings) -> dict[str, Any]:
    """SIGKILL one Kafka node; seconds until an acks=all send to each partition of a
    replication-3 topic (a third of them led by that node) is acknowledged again."""
    try:
        return asyncio.run(_kafka_failover_s(s))
    except Exception as exc:  # reported, not fatal: the other figures stand
        return {"error": repr(exc)[:500]}


def measure(s: StackSettings, args: argparse.Namespace) -> dict[str, Any]:
    ingest = _bench("ingest.py", ["--rates", args.rates, "--step-s", str(args.step_s),
                                  "--max-events", str(args.max_events)], s)  # fmt: skip
    alerts = _bench("alert_latency.py", ["--rate", str(args.rate), "--probes",
                                         str(args.probes), "--spacing", "2"], s)  # fmt: skip
    return {"ingest": ingest, "alerts": alerts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="5000,max")
    ap.add_argument("--step-s", type=float, default=15.0)
    ap.add_argument("--max-events", type=int, default=100_000)
    ap.add_argument("--rate", type=int, default=5000, help="alert bench background events/s")
    ap.add_argument("--probes", type=int, default=6)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    for mode, stack in (("single", single_stack), ("ha", ha_stack)):
        t0 = time.monotonic()
        with stack() as s:
            up_s = time.monotonic() - t0
            results[mode] = {"services_up_s": round(up_s, 1), **measure(s, args)}
            if s.ha:  # last: the stack is torn down after it
                results[mode]["failover"] = {"kafka": kafka_failover_s(s),
                                             "postgres": pg_failover_s(s)}  # fmt: skip
        print(mode, json.dumps(results[mode]), flush=True)
    rows = []
    for mode in ("single", "ha"):
        i, a = results[mode]["ingest"], results[mode]["alerts"]
        rows.append((mode, i.get("events_per_s_max"), i.get("p99_s_at_5000"),
                     a.get("alerts_sent"), a.get("probes"), a.get("p50_s"), a.get("p99_s"),
                     a.get("background_events_per_s")))  # fmt: skip
    print(
        "mode | ingest max events/s | state p99 at 5,000/s (s) | alerts sent | "
        "alert p50 (s) | alert p99 (s) | background events/s"
    )
    for mode, imax, sp99, sent, probes, p50, p99, bg in rows:
        print(f"{mode} | {imax} | {sp99} | {sent}/{probes} | {p50} | {p99} | {bg}")
    single_max, ha_max = rows[0][1], rows[1][1]
    if single_max and ha_max:
        print(f"HA / single ingest max: {ha_max / single_max:.2f}")
    print(f"HA failover: {json.dumps(results['ha'].get('failover'))}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
