"""HA mode's PostgreSQL as the project configures it (infra/db/ha.py, citypulse.config)."""

from __future__ import annotations

from pathlib import Path

from citypulse.cli import ha_stack
from citypulse.cli.stack import app_processes, programs
from citypulse.config import StackSettings
from infra.db import ha


def test_single_node_conninfo_unchanged_ha_names_both_sites_read_write() -> None:
    single = StackSettings(db_port=5001)
    assert "host=127.0.0.1 port=5001 " in single.db_conninfo
    assert "target_session_attrs" not in single.db_conninfo
    two = StackSettings(ha=True, db_port=5001, db_standby_host="10.0.0.2", db_standby_port=5002)
    assert "host=127.0.0.1,10.0.0.2 port=5001,5002 " in two.db_conninfo
    assert "target_session_attrs=read-write" in two.db_conninfo
    assert "connect_timeout=5" in two.db_conninfo


def test_nodes_ports_and_programs(tmp_path: Path) -> None:
    s = StackSettings(ha=True, var_dir=tmp_path, db_port=5001, db_standby_port=5002,
                      db_monitor_port=5003)  # fmt: skip
    a, b = ha.sites(s)
    assert (a.port, b.port, ha.monitor(s).port) == (5001, 5002, 5003)
    assert [n.program for n in (ha.monitor(s), a, b)] == ["pg-monitor", "postgres-a", "postgres-b"]
    assert ha.pgdata(s, b) == tmp_path / "pg-ha" / "b"
    assert "port=5001,5002" in ha.superuser_conninfo(s)
    assert ha.monitor_uri(s).startswith("postgres://autoctl_node@127.0.0.1:5003/pg_auto_failover")
    assert set(ha.env(s)) >= {"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR"}
    assert all(v.startswith(str(tmp_path)) for v in ha.env(s).values())


def test_commands_create_once_then_run_in_the_foreground(tmp_path: Path) -> None:
    s = StackSettings(ha=True, var_dir=tmp_path)
    mon = ha.command(s, ha.monitor(s))[-1]
    assert f"test -f {ha.config_file(s, ha.monitor(s))} ||" in mon
    assert "pg_autoctl create monitor" in mon and "--run" not in mon
    b = ha.sites(s)[1]
    node = ha.command(s, b)[-1]
    assert "pg_autoctl create postgres" in node
    assert "--name b" in node and f"--pgport {s.db_standby_port}" in node
    assert f"timeout.network_partition_timeout {ha.NETWORK_PARTITION_TIMEOUT_S}" in node
    assert node.endswith(f"exec pg_autoctl run --pgdata {ha.pgdata(s, b)}")
    assert str(ha.config_file(s, b)).endswith(f"{ha.pgdata(s, b)}/pg_autoctl.cfg")


def test_failover_timeouts_cannot_give_two_primaries() -> None:
    # The monitor promotes the standby only after the old primary has had time to notice
    # it is cut off and stop taking writes.
    demote_ms = ha.MONITOR_SETTINGS["pgautofailover.primary_demote_timeout"]
    assert demote_ms > ha.NETWORK_PARTITION_TIMEOUT_S * 1000


def test_hba_trusts_only_the_failover_roles_from_the_site_addresses() -> None:
    a = ha.Node("a", "10.0.0.1", 5432)
    lines = ha.hba_lines(a, [ha.Node("b", "10.0.0.2", 5432), ha.Node("monitor", "10.0.0.3", 1)])
    assert all(line.split()[2].startswith("pgautofailover_") for line in lines)
    assert {line.split()[3] for line in lines} == {"10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32"}


def test_up_in_ha_mode_runs_an_api_per_site(tmp_path: Path) -> None:
    s = StackSettings(ha=True, var_dir=tmp_path, api_port_a=9001, api_port_b=9002)
    procs = {p.name: p for p in app_processes(s)}
    assert "api" not in procs and {"api-a", "api-b"} <= set(procs)
    assert "9001" in procs["api-a"].argv(s) and "9002" in procs["api-b"].argv(s)
    assert {p.name: p.priority for p in programs(s, list(procs.values()))}["api-b"] == 300
    single = {p.name for p in app_processes(StackSettings(var_dir=tmp_path))}
    assert "api" in single and "api-a" not in single
    assert ha_stack.last_postgres(s) == "postgres-b"
