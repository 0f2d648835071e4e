"""PostgreSQL in HA mode: a primary and a streaming hot standby (sites a and b) with
automatic failover by pg_auto_failover (Debian's postgresql-15-auto-failover and
pg-auto-failover-cli), on this machine.

Three `pg_autoctl` services: the monitor, which health-checks the nodes and decides a
failover, and one keeper per site, which runs its postmaster and follows the monitor's
orders. Site a is the first primary (its data directory is initialised here, with the
project's settings); site b is created by `pg_basebackup` from whichever node is primary
and becomes its synchronous standby, so a commit is on both sites before it is answered.

Why pg_auto_failover and not Patroni with etcd: one machine rehearsing two sites needs a
single extra process (the monitor, itself a PostgreSQL) instead of a three-member etcd
cluster, and the keeper rebuilds a lost or demoted node by itself (pg_rewind or a new
base backup). Its weak spot, the monitor as a single point of decision, only stops
failovers while it is down, never the service (docs/operations.md).

Clients find the writable node with a multi-host connection string
(`StackSettings.db_conninfo`: `host=a,b … target_session_attrs=read-write`).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg

from citypulse.config import StackSettings
from infra.db import cluster

# Failover timing (defaults in brackets): the monitor calls a node unhealthy after a
# failed health check (every 2 s, 2 s timeout, 1 retry after 1 s) and 5 s without a
# report from its keeper [5 s period, 2 retries, 20 s]; it promotes the standby once the
# old primary has had primary_demote_timeout to demote itself [30 s]. That must exceed
# the keeper's network_partition_timeout [20 s], after which a primary cut off from both
# the monitor and its standby stops taking writes: so no two primaries ever take writes.
MONITOR_SETTINGS: Mapping[str, int] = {
    "pgautofailover.health_check_period": 2000,
    "pgautofailover.health_check_timeout": 2000,
    "pgautofailover.health_check_max_retries": 1,
    "pgautofailover.health_check_retry_delay": 1000,
    "pgautofailover.node_considered_unhealthy_timeout": 5000,
    "pgautofailover.primary_demote_timeout": 10000,
}
NETWORK_PARTITION_TIMEOUT_S = 5
# States in which a node does its part: a primary (alone, or waiting for its standby)
# takes writes, a secondary replays them.
SERVING = frozenset({"single", "primary", "wait_primary", "secondary"})
WRITABLE = frozenset({"single", "primary", "wait_primary"})


@dataclass(frozen=True)
class Node:
    """A pg_autoctl service: the monitor or a site's PostgreSQL."""

    name: str  # "monitor", "a", "b"
    host: str
    port: int

    @property
    def program(self) -> str:
        return "pg-monitor" if self.name == "monitor" else f"postgres-{self.name}"


def monitor(settings: StackSettings) -> Node:
    return Node("monitor", settings.db_host, settings.db_monitor_port)


def sites(settings: StackSettings) -> tuple[Node, Node]:
    return (
        Node("a", settings.db_host, settings.db_port),
        Node("b", settings.db_standby_host or settings.db_host, settings.db_standby_port),
    )


def root(settings: StackSettings) -> Path:
    return settings.var_dir / "pg-ha"


def pgdata(settings: StackSettings, node: Node) -> Path:
    return root(settings) / node.name


def socket_dir(settings: StackSettings) -> Path:
    """One private socket directory for all three (the port names each socket)."""
    return root(settings) / "run"


def env(settings: StackSettings) -> dict[str, str]:
    """pg_autoctl keeps its configuration and state under XDG directories: ours, not
    the postgres user's home."""
    base = root(settings) / "autoctl"
    return {
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_RUNTIME_DIR": str(base / "run"),
        "PGHOST": str(socket_dir(settings)),
    }


def monitor_uri(settings: StackSettings) -> str:
    m = monitor(settings)
    return f"postgres://autoctl_node@{m.host}:{m.port}/pg_auto_failover?sslmode=disable"


def _node_settings(settings: StackSettings, node: Node) -> StackSettings:
    # cluster.init_cluster puts the socket directory beside the data directory: for
    # <root>/<node> that is <root>/run, shared by the three.
    return settings.model_copy(update={"pg_data_dir": pgdata(settings, node)})


def _prepend_hba(path: Path, lines: list[str]) -> None:
    text = path.read_text()
    path.write_text(
        "# CityPulse HA: pg_auto_failover's own roles\n" + "\n".join(lines) + "\n" + text
    )


def _append_conf(path: Path, lines: list[str]) -> None:
    with path.open("a") as f:
        f.write("\n".join(["", "# CityPulse HA", *lines]) + "\n")


def hba_lines(node: Node, peers: list[Node]) -> list[str]:
    """pg_auto_failover's roles need no password from the site addresses (the monitor's
    health checks, replication and pg_rewind between the sites); every other role keeps
    the scram-sha-256 rule of the single-node cluster below these lines."""
    addrs = sorted({f"{n.host}/32" for n in [node, *peers]})
    if node.name == "monitor":
        return [f"host pg_auto_failover autoctl_node {a} trust" for a in addrs]
    out = []
    for a in addrs:
        out += [
            f"host replication pgautofailover_replicator {a} trust",
            f"host all pgautofailover_replicator {a} trust",
            f"host all pgautofailover_monitor {a} trust",
        ]
    return out


def init(settings: StackSettings) -> None:
    """Create what `pg_autoctl create` cannot: the monitor's and site a's data
    directories with the project's settings (socket directory, memory, TimescaleDB),
    once. Site b is always a base backup of the primary; so is a site whose data is lost."""
    bins = cluster.install_if_missing()
    mon = monitor(settings)
    a, b = sites(settings)
    for d in (root(settings), *(Path(v) for k, v in env(settings).items() if k != "PGHOST")):
        d.mkdir(parents=True, exist_ok=True)
        cluster._chown_to_server_user(d)
    if not (pgdata(settings, mon) / "PG_VERSION").exists():
        cluster.init_cluster(_node_settings(settings, mon), bins)
        _append_conf(
            pgdata(settings, mon) / "postgresql.conf",
            [f"listen_addresses = '{mon.host}'", "shared_buffers = 64MB"]
            + [f"{k} = {v}" for k, v in MONITOR_SETTINGS.items()],
        )
        _prepend_hba(pgdata(settings, mon) / "pg_hba.conf", hba_lines(mon, [a, b]))
    if not any((pgdata(settings, n) / "PG_VERSION").exists() for n in (a, b)):
        cluster.init_cluster(_node_settings(settings, a), bins)
        _append_conf(pgdata(settings, a) / "postgresql.conf", [f"listen_addresses = '{a.host}'"])
        _prepend_hba(pgdata(settings, a) / "pg_hba.conf", hba_lines(a, [mon, b]))


def _as_server_user(script: str) -> list[str]:
    if os.geteuid() != 0:
        return ["sh", "-c", script]
    # As in cluster.prepare: become postgres by exec so supervisord's signals reach
    # pg_autoctl, which stops its postmaster (SIGINT: fast shutdown); the parent-death
    # signal is set again after the change of user.
    return [
        "setpriv", f"--reuid={cluster.PG_SYSTEM_USER}", f"--regid={cluster.PG_SYSTEM_USER}",
        "--init-groups", "--pdeathsig=INT", "--", "sh", "-c", script,
    ]  # fmt: skip


def config_file(settings: StackSettings, node: Node) -> Path:
    """pg_autoctl's configuration of a node: written by `pg_autoctl create`."""
    data = pgdata(settings, node).resolve()
    return (
        Path(env(settings)["XDG_CONFIG_HOME"])
        / "pg_autoctl"
        / str(data).lstrip("/")
        / ("pg_autoctl.cfg")
    )


def command(settings: StackSettings, node: Node) -> list[str]:
    """The argv of a node's pg_autoctl service, run in the foreground: `pg_autoctl
    create` the first time (site b: a base backup of the primary), then `pg_autoctl run`,
    which also takes over a postmaster left running by a killed pg_autoctl (it restarts
    it; `create` would refuse a running one)."""
    bins = cluster.bin_dir() or Path("/usr/lib/postgresql/15/bin")
    data = shlex.quote(str(pgdata(settings, node)))
    common = (
        f"--pgdata {data} --pgport {node.port} --hostname {shlex.quote(node.host)} "
        f"--pgctl {shlex.quote(str(bins / 'pg_ctl'))} --skip-pg-hba --no-ssl"
    )
    if node.name == "monitor":
        create = f"pg_autoctl create monitor {common}"
    else:
        create = (
            f"pg_autoctl create postgres {common} --name {node.name} "
            f"--listen {shlex.quote(node.host)} "
            f"--monitor {shlex.quote(monitor_uri(settings))} && "
            f"pg_autoctl config set --pgdata {data} timeout.network_partition_timeout "
            f"{NETWORK_PARTITION_TIMEOUT_S} >/dev/null"
        )
    cfg = shlex.quote(str(config_file(settings, node)))
    return _as_server_user(
        f"{_reap_previous(settings, node)}; "
        f"{{ test -f {cfg} || {{ {create}; }}; }} && exec pg_autoctl run --pgdata {data}"
    )


def _reap_previous(settings: StackSettings, node: Node) -> str:
    """A pg_autoctl killed with SIGKILL leaves its services (the postgres controller, the
    keeper) running in its process group, and they would fight the new one over the
    postmaster. The command runs as its process group's leader (supervisord, and the
    tests, start it so): it records its group and ends the pg_autoctl processes left in
    the one recorded before (the postmaster is then restarted by the new pg_autoctl)."""
    f = shlex.quote(str(Path(env(settings)["XDG_RUNTIME_DIR"]) / f"{node.name}.pgid"))
    return (
        f"old=$(cat {f} 2>/dev/null); "
        f'[ -n "$old" ] && [ "$old" != "$$" ] && pkill -KILL -g "$old" -f "^pg_autoctl"; '
        f"echo $$ > {f}"
    )


def _monitor_conninfo(settings: StackSettings) -> str:
    m = monitor(settings)
    return f"host={socket_dir(settings)} port={m.port} user=postgres dbname=pg_auto_failover"


def states(settings: StackSettings) -> dict[str, tuple[str, str]]:
    """Each site's (reported, assigned) state as the monitor sees it; {} if it does not
    answer."""
    try:
        with psycopg.connect(_monitor_conninfo(settings), connect_timeout=3) as conn:
            rows = conn.execute(
                "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node"
            ).fetchall()
    except psycopg.Error:
        return {}
    return {str(n): (str(r), str(g)) for n, r, g in rows}


def monitor_ready(settings: StackSettings) -> bool:
    try:
        with psycopg.connect(_monitor_conninfo(settings), connect_timeout=3) as conn:
            conn.execute("SELECT count(*) FROM pgautofailover.node")
        return True
    except psycopg.Error:
        return False


def node_ready(settings: StackSettings, node: Node) -> bool:
    """The monitor has the node in a serving state it was assigned (not in transition)."""
    st = states(settings).get(node.name)
    return st is not None and st[0] == st[1] and st[0] in SERVING


def primary(settings: StackSettings) -> Node | None:
    """The site whose node takes writes, as the monitor sees it: it says so and the
    monitor agrees (a killed primary's last report stays "primary", its goal changes)."""
    st = states(settings)
    for node in sites(settings):
        reported, assigned = st.get(node.name, ("", ""))
        if reported in WRITABLE and assigned in WRITABLE:
            return node
    return None


def superuser_conninfo(settings: StackSettings, dbname: str = "postgres") -> str:
    """The superuser over the private sockets, on whichever site takes writes."""
    a, b = sites(settings)
    sock = socket_dir(settings)
    return (
        f"host={sock},{sock} port={a.port},{b.port} user=postgres dbname={dbname} "
        "target_session_attrs=read-write"
    )


def ensure_role_and_database(settings: StackSettings) -> None:
    """The application's role and database on the primary (the standby replays them)."""
    cluster.ensure_role_and_database(
        settings, superuser=lambda dbname: superuser_conninfo(settings, dbname)
    )
