"""What `citypulse up` runs in HA mode: one worker, dispatcher and watchdog per site."""

from __future__ import annotations

from pathlib import Path

import pytest

from citypulse.cli import ha, ha_stack
from citypulse.cli.stack import app_processes, kafka_program, programs
from citypulse.config import StackSettings
from infra.kannel.settings import KannelGatewaySettings


def ha_settings(tmp_path: Path, **kw: object) -> StackSettings:
    return StackSettings(ha=True, var_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_each_site_runs_a_worker_a_dispatcher_and_a_watchdog(tmp_path: Path) -> None:
    names = [p.name for p in app_processes(ha_settings(tmp_path))]
    for role in ("worker", "dispatcher", "watchdog"):
        assert [n for n in names if ha.base_name(n) == role] == [f"{role}-a", f"{role}-b"]
    assert {ha.site_of(n) for n in names} == {"a", "b", None}  # the rest: not per site
    assert len(names) == len(set(names))


def test_the_two_workers_are_one_group_with_two_ids(tmp_path: Path) -> None:
    s = ha_settings(tmp_path)
    workers = [p for p in app_processes(s) if ha.base_name(p.name) == "worker"]
    assert len({tuple(p.argv(s)) for p in workers}) == 1  # the same program, one group
    assert [p.env["CITYPULSE_WORKER_ID"] for p in workers] == ["worker-1", "worker-2"]


def test_site_copies_do_not_share_a_port_or_a_state_file(tmp_path: Path) -> None:
    s = ha_settings(tmp_path, dispatch_metrics_port=9480)
    procs = {p.name: p.env for p in app_processes(s)}
    assert procs["dispatcher-a"]["CITYPULSE_DISPATCH_METRICS_PORT"] == "9480"
    assert procs["dispatcher-b"]["CITYPULSE_DISPATCH_METRICS_PORT"] == "9481"
    files = {procs[f"watchdog-{site}"]["CITYPULSE_WATCHDOG_STATE_FILE"] for site in "ab"}
    assert files == {
        str(tmp_path / "run" / "watchdog-a.json"),
        str(tmp_path / "run" / "watchdog-b.json"),
    }


def test_metrics_off_stays_off_at_both_sites(tmp_path: Path) -> None:
    procs = {p.name: p.env for p in app_processes(ha_settings(tmp_path, dispatch_metrics_port=0))}
    assert {procs[f"dispatcher-{s}"]["CITYPULSE_DISPATCH_METRICS_PORT"] for s in "ab"} == {"0"}


def test_site_copies_keep_the_single_node_priorities(tmp_path: Path) -> None:
    single = {p.name: p.priority for p in programs(StackSettings(), app_processes(StackSettings()))}
    s = ha_settings(tmp_path)
    for p in programs(s, app_processes(s)):
        assert p.priority == single[ha.base_name(p.name)]


def test_kafka_nodes_start_before_the_apps_and_stop_together(tmp_path: Path) -> None:
    s = ha_settings(tmp_path)
    nodes = [ha.kafka_program(n.name, ["java", "kafka.Kafka", n.name]) for n in s.kafka_nodes]
    assert {p.priority for p in nodes} == {kafka_program(["java"]).priority}
    assert max(p.priority for p in nodes) < min(p.priority for p in programs(s, app_processes(s)))
    assert all(p.stopsignal == "TERM" and p.stopwaitsecs >= 30 for p in nodes)


@pytest.mark.parametrize(
    ("program", "base", "site"),
    [("kafka-a1", "kafka", "a"), ("kafka-c1", "kafka", "c"), ("worker-b", "worker", "b"),
     ("api", "api", None), ("restart-listener", "restart-listener", None)],
)  # fmt: skip
def test_base_name_and_site(program: str, base: str, site: str | None) -> None:
    assert (ha.base_name(program), ha.site_of(program)) == (base, site)


def test_each_site_has_its_kannel_and_its_dispatcher_falls_back_to_the_other(
    tmp_path: Path,
) -> None:
    s = ha_settings(tmp_path)
    sites = ha_stack.kannel_sites(s, KannelGatewaySettings())
    ports = [(k.admin_port, k.smsbox_port, k.sendsms_port, k.smsc_port) for _, _, k in sites]
    assert len({p for four in ports for p in four}) == 8  # no port shared by the two
    assert len({d for _, d, _ in sites}) == 2
    apps = ha_stack.dispatcher_sms_env(programs(s, app_processes(s)), sites)
    env = {p.name: p.env for p in apps}
    url = {site: k.sendsms_url for site, _, k in sites}
    for own, other in (("a", "b"), ("b", "a")):
        assert env[f"dispatcher-{own}"]["CITYPULSE_SMS_KANNEL_SENDSMS_URL"] == url[own]
        assert env[f"dispatcher-{own}"]["CITYPULSE_SMS_KANNEL_FALLBACK_SENDSMS_URL"] == url[other]
    assert all("CITYPULSE_SMS_KANNEL_SENDSMS_URL" not in env[n] for n in env if "dispatch" not in n)
