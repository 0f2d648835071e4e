"""Where a bench's CPU goes, by process group, from /proc (Linux only).

`bench/ingest.py` takes a `snapshot` when the workers' group has settled and another when
the backlog is committed; `split` turns the two into CPU per event for the workers,
PostgreSQL, Kafka and the rest of the machine. Must-show 1c of issue 18 (two workers
≥ 1.5 × one on two cores shared with Kafka and PostgreSQL) turns on the ratio of the
others' cost per event (o) to one worker's (w): two workers can reach at most
2 / (1 + o / w) × one. A scratch sampler that averaged over intervals outside the drain
once put PostgreSQL at 2.7 µs an event where it spends 3-5 (docs/benchmarks.md, eleventh
round); taking both snapshots at the drain's own edges leaves no window to choose.

Each group is a process tree: its processes' user and system time, plus what their
children that have already exited left in their parent's `cutime`/`cstime`. So the
PostgreSQL backends a drain starts and ends (and every process under the postmaster) are
counted, once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    comm: str
    cpu_ticks: int  # utime + stime
    reaped_child_ticks: int  # cutime + cstime


def parse_stat(line: str) -> ProcStat:
    """One /proc/PID/stat line. The command sits in parentheses and may itself hold spaces
    and parentheses, so the fields are counted from the last ')'."""
    head, _, tail = line.rpartition(")")
    pid, _, comm = head.partition(" (")
    f = tail.split()
    # tail starts at field 3 (state): ppid is field 4, utime..cstime fields 14-17.
    return ProcStat(int(pid), int(f[1]), comm, int(f[11]) + int(f[12]), int(f[13]) + int(f[14]))


def read_all(proc: Path = PROC) -> dict[int, tuple[ProcStat, str]]:
    """Every process now: its stat and its command line (NULs as spaces)."""
    out: dict[int, tuple[ProcStat, str]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = parse_stat((entry / "stat").read_text())
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # gone between the listing and the read
        out[stat.pid] = (stat, cmdline)
    return out


def tree_ticks(procs: Mapping[int, tuple[ProcStat, str]], roots: Iterable[int]) -> int:
    """CPU ticks of the trees under `roots`: each process's own time and what its exited
    children left it. A root inside another root's tree is counted once."""
    children: dict[int, list[int]] = {}
    for pid, (stat, _) in procs.items():
        children.setdefault(stat.ppid, []).append(pid)
    seen: set[int] = set()
    stack = [r for r in roots if r in procs]
    total = 0
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stat = procs[pid][0]
        total += stat.cpu_ticks + stat.reaped_child_ticks
        stack.extend(children.get(pid, ()))
    return total


def postgres_roots(procs: Mapping[int, tuple[ProcStat, str]]) -> list[int]:
    """Postmasters: processes named postgres whose parent is not (every cluster here)."""
    return [
        pid
        for pid, (stat, _) in procs.items()
        if stat.comm == "postgres"
        and (stat.ppid not in procs or procs[stat.ppid][0].comm != "postgres")
    ]


def kafka_roots(procs: Mapping[int, tuple[ProcStat, str]]) -> list[int]:
    """Kafka brokers and controllers (each node of an HA cluster)."""
    return [pid for pid, (_, cmd) in procs.items() if " kafka.Kafka " in f" {cmd} "]


def machine_ticks(stat_text: str) -> tuple[int, int]:
    """(busy, all) ticks of the whole machine, from /proc/stat's first line."""
    f = [int(x) for x in stat_text.splitlines()[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)  # idle + iowait
    every = sum(f[:8])  # guest time is already inside user
    return every - idle, every


@dataclass(frozen=True)
class Snapshot:
    groups: dict[str, int]  # ticks per group
    busy: int
    every: int


def snapshot(worker_pids: Iterable[int], proc: Path = PROC) -> Snapshot:
    procs = read_all(proc)
    workers = tree_ticks(procs, worker_pids)
    postgres = tree_ticks(procs, postgres_roots(procs))
    kafka = tree_ticks(procs, kafka_roots(procs))
    busy, every = machine_ticks((proc / "stat").read_text())
    return Snapshot({"worker": workers, "postgres": postgres, "kafka": kafka}, busy, every)


def split(
    before: Snapshot,
    after: Snapshot,
    events: int,
    seconds: float,
    ticks_per_s: float | None = None,
    cores: int | None = None,
) -> dict[str, float | None]:
    """CPU per event (µs) of each group and of the rest of the machine, the cores each
    held, and o / w: PostgreSQL's and Kafka's against the workers'. The rest (this bench,
    the kernel's threads, anything else running) is reported but left out of o: the
    service does not carry it. With no events (or no worker time) the ratios are None."""
    hz = ticks_per_s or float(os.sysconf("SC_CLK_TCK"))
    n_cores = cores or os.cpu_count() or 1
    per_group = {g: (after.groups[g] - before.groups[g]) / hz for g in after.groups}
    busy_s = (after.busy - before.busy) / hz
    # A process's times and the machine's counters are sampled apart, so the groups can
    # add up to a tick or two more than the machine's busy time: never a negative rest.
    per_group["rest"] = max(0.0, busy_s - sum(per_group.values()))
    out: dict[str, float | None] = {}
    for g, s in per_group.items():
        out[f"{g}_us_per_event"] = round(s / events * 1e6, 2) if events > 0 else None
        out[f"{g}_cores"] = round(s / seconds, 3) if seconds > 0 else None
    out["idle_cores"] = round(max(0.0, n_cores - busy_s / seconds), 3) if seconds > 0 else None
    w = per_group["worker"]
    others = per_group["postgres"] + per_group["kafka"]
    out["others_over_worker"] = round(others / w, 3) if w > 0 and events > 0 else None
    return out


def two_worker_bound(others_over_worker: float | None) -> float | None:
    """About the most two workers can reach, as a multiple of one worker that holds a core
    of its own, when the two cores are all there is: 2 w / (w + o)."""
    return None if others_over_worker is None else round(2 / (1 + others_over_worker), 3)
