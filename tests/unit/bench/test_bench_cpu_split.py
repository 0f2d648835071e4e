"""bench/cpu_split.py: /proc parsing, process trees, and the split per event."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import cpu_split
from bench.cpu_split import ProcStat, Snapshot


def _stat_line(pid: int, comm: str, ppid: int, ut: int, st: int, cut: int, cst: int) -> str:
    # Fields 3.. of /proc/PID/stat: state ppid pgrp session tty tpgid flags minflt cminflt
    # majflt cmajflt utime stime cutime cstime priority ...
    rest = ["S", ppid, 1, 1, 0, -1, 0, 0, 0, 0, 0, ut, st, cut, cst, 20, 0, 1]
    return f"{pid} ({comm}) " + " ".join(str(x) for x in rest)


@pytest.mark.parametrize(
    ("comm", "ppid", "times", "ticks", "reaped"),
    [
        ("postgres", 1, (12, 3, 40, 2), 15, 42),
        ("python", 77, (0, 0, 0, 0), 0, 0),
        ("a) b (c", 5, (7, 1, 0, 9), 8, 9),  # a command with spaces and parentheses
    ],
)
def test_parse_stat_counts_fields_from_the_last_parenthesis(
    comm: str, ppid: int, times: tuple[int, int, int, int], ticks: int, reaped: int
) -> None:
    got = cpu_split.parse_stat(_stat_line(4242, comm, ppid, *times))
    assert got == ProcStat(4242, ppid, comm, ticks, reaped)


def _procs(*rows: tuple[int, int, str, int, int, str]) -> dict[int, tuple[ProcStat, str]]:
    return {pid: (ProcStat(pid, ppid, comm, t, r), cmd) for pid, ppid, comm, t, r, cmd in rows}


PROCS = _procs(
    (1, 0, "init", 5, 999, "/sbin/init"),
    (100, 1, "postgres", 10, 50, "/usr/lib/postgresql/15/bin/postgres -D /data"),
    (101, 100, "postgres", 20, 0, "postgres: checkpointer"),
    (102, 100, "postgres", 300, 0, "postgres: citypulse citypulse 127.0.0.1"),
    (200, 1, "java", 70, 0, "/usr/bin/java -Xmx768m -cp lib/* kafka.Kafka server.properties"),
    (201, 1, "java", 30, 0, "/usr/bin/java -cp lib/* kafka.Kafka node2.properties"),
    (300, 1, "python", 900, 0, "python -m faust -A streams.app worker"),
    (301, 300, "python", 11, 0, "python -c resource tracker"),
    (400, 1, "bash", 1, 0, "bash"),
)


def test_a_tree_counts_its_processes_and_their_exited_children_once() -> None:
    # Postmaster's own 10, what its exited backends left it (50), the live ones 20 + 300.
    assert cpu_split.tree_ticks(PROCS, [100]) == 380
    # A root listed twice, or inside another root's tree, is not counted again.
    assert cpu_split.tree_ticks(PROCS, [100, 102, 100]) == 380
    assert cpu_split.tree_ticks(PROCS, [300]) == 911
    assert cpu_split.tree_ticks(PROCS, [12345]) == 0  # gone


def test_postmasters_and_kafka_nodes_are_found_by_name() -> None:
    assert cpu_split.postgres_roots(PROCS) == [100]
    assert sorted(cpu_split.kafka_roots(PROCS)) == [200, 201]


def test_machine_ticks_leave_out_idle_and_iowait() -> None:
    busy, every = cpu_split.machine_ticks("cpu  100 5 50 1000 20 3 2 0 7 0\ncpu0 1 2 3 4\n")
    assert (busy, every) == (160, 1180)


def test_split_per_event_cores_and_the_bound() -> None:
    before = Snapshot({"worker": 0, "postgres": 0, "kafka": 0}, busy=0, every=0)
    # 10 s at 100 ticks/s on two cores: worker 9 s, PostgreSQL 3 s, Kafka 1 s, the
    # machine busy 14 s in all (so 1 s elsewhere), 1,000,000 events.
    after = Snapshot({"worker": 900, "postgres": 300, "kafka": 100}, busy=1400, every=2000)
    got = cpu_split.split(before, after, 1_000_000, 10.0, ticks_per_s=100, cores=2)
    assert got["worker_us_per_event"] == 9.0
    assert got["postgres_us_per_event"] == 3.0
    assert got["kafka_us_per_event"] == 1.0
    assert got["rest_us_per_event"] == 1.0
    assert got["worker_cores"] == 0.9
    assert got["idle_cores"] == 0.6
    assert got["others_over_worker"] == round(4 / 9, 3)  # the rest is not the service's
    assert cpu_split.two_worker_bound(got["others_over_worker"]) == round(2 / (1 + 4 / 9), 3)


def test_split_with_no_events_or_no_worker_time_has_no_ratios() -> None:
    before = Snapshot({"worker": 0, "postgres": 0, "kafka": 0}, busy=0, every=0)
    after = Snapshot({"worker": 0, "postgres": 5, "kafka": 0}, busy=10, every=200)
    got = cpu_split.split(before, after, 0, 1.0, ticks_per_s=100, cores=2)
    assert got["worker_us_per_event"] is None and got["others_over_worker"] is None
    assert got["postgres_cores"] == 0.05
    assert cpu_split.two_worker_bound(got["others_over_worker"]) is None
    busy = Snapshot({"worker": 0, "postgres": 5, "kafka": 0}, busy=10, every=200)
    assert cpu_split.split(before, busy, 10, 1.0, 100, 2)["others_over_worker"] is None


def test_split_never_reports_a_negative_rest() -> None:
    before = Snapshot({"worker": 0, "postgres": 0, "kafka": 0}, busy=0, every=0)
    after = Snapshot({"worker": 101, "postgres": 0, "kafka": 0}, busy=100, every=200)
    got = cpu_split.split(before, after, 100, 1.0, ticks_per_s=100, cores=2)
    assert got["rest_us_per_event"] == 0.0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_snapshot_sees_a_child_spend_cpu_and_keeps_it_after_it_exits() -> None:
    """Live: a child process of this test spins, then exits; this process's tree holds its
    time before (as the child's) and after (in this process's cutime)."""
    me = os.getpid()
    start = cpu_split.snapshot([me])
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nt = time.process_time()\n"
            "while time.process_time() - t < 0.3: pass\ntime.sleep(5)",
        ]
    )
    time.sleep(1.0)
    alive = cpu_split.snapshot([me])
    child.kill()
    child.wait()
    gone = cpu_split.snapshot([me])
    hz = os.sysconf("SC_CLK_TCK")
    assert (alive.groups["worker"] - start.groups["worker"]) / hz >= 0.25
    assert gone.groups["worker"] >= alive.groups["worker"]
    assert gone.busy >= start.busy and gone.every > start.every
