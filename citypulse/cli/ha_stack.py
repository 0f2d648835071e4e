"""What `up` runs differently in HA mode (CITYPULSE_HA=1), for PostgreSQL and the API:
pg_auto_failover's monitor and the two sites' PostgreSQL instead of the one postmaster,
HAProxy on the API port, and one API process per site behind it. (Kafka's three nodes
and the second worker and dispatcher are wired beside this.)

Each piece is a supervisord program, restarted when it exits like every other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import psycopg

from citypulse.cli import supervise
from citypulse.config import StackSettings
from infra.db import ha
from infra.haproxy import config as haproxy
from infra.kannel.settings import KannelGatewaySettings

KANNEL_SITE_PORT_STEP = 100  # site b's Kannel: site a's ports + 100

Ports = tuple[tuple[str, int, str, str], ...]  # host, port, what, variable: free before
Step = tuple[supervise.Program, Callable[[], bool], Ports]


def postgres_steps(settings: StackSettings) -> list[Step]:
    """The monitor, then site a (the first primary), then site b (its standby, a base
    backup of it the first time): each started once the one before serves."""
    ha.init(settings)
    s = settings
    mon = ha.monitor(s)
    steps: list[Step] = [
        (
            _pg_program(s, mon, priority=1),
            lambda: ha.monitor_ready(s),
            ((mon.host, mon.port, "pg_auto_failover's monitor", "CITYPULSE_DB_MONITOR_PORT"),),
        )
    ]
    variables = ("CITYPULSE_DB_PORT", "CITYPULSE_DB_STANDBY_PORT")
    for node, variable in zip(ha.sites(s), variables, strict=True):
        steps.append(
            (
                _pg_program(s, node, priority=2),
                lambda n=node: ha.node_ready(s, n),  # type: ignore[misc]
                ((node.host, node.port, f"PostgreSQL of site {node.name}", variable),),
            )
        )
    return steps


def _pg_program(settings: StackSettings, node: ha.Node, priority: int) -> supervise.Program:
    return supervise.Program(
        node.program,
        ha.command(settings, node),
        ha.env(settings),
        priority=priority,
        stopsignal="INT",  # pg_autoctl: a fast shutdown of its postmaster
        stopasgroup=False,  # pg_autoctl stops its own services
        stopwaitsecs=60,
        startsecs=5,
        directory=ha.root(settings),
    )


def last_postgres(settings: StackSettings) -> str:
    """After this program is ready, the role, database and migrations are applied on
    whichever site is primary (the standby replays them)."""
    return ha.sites(settings)[1].program


def prepare_database(settings: StackSettings, migrate: Callable[[str, str], object]) -> None:
    ha.ensure_role_and_database(settings)
    migrate(settings.db_conninfo, settings.db_schema)


def database_ready(settings: StackSettings) -> bool:
    """A writable site answers through the multi-host conninfo."""
    try:
        with psycopg.connect(ha.superuser_conninfo(settings), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def haproxy_step(settings: StackSettings) -> Step:
    s = settings
    program = supervise.Program("haproxy", haproxy.prepare(s), priority=9, startsecs=2)
    sites = tuple(
        (b.host, b.port, f"the API of {b.name}", f"CITYPULSE_API_PORT_{b.name[-1].upper()}")
        for b in haproxy.backends(s)
    )
    return (
        program,
        lambda: haproxy.is_ready(s),
        ((s.api_host, s.api_port, "HAProxy", "CITYPULSE_API_PORT"), *sites),
    )


def api_argv(
    base: Callable[[StackSettings], list[str]], port: int
) -> Callable[[StackSettings], list[str]]:
    """The single-node API's argv on a site's port."""
    return lambda s: base(s.model_copy(update={"api_port": port}))


def api_sites(settings: StackSettings) -> list[tuple[str, int, dict[str, str]]]:
    """(program name, port, environment) of each site's API process. For the client
    address behind HAProxy set CITYPULSE_TRUSTED_PROXIES='["127.0.0.1/32"]' in the
    environment of `up`: a JSON list cannot pass through supervisord's environment line,
    which drops double quotes."""
    return [(b.name, b.port, {}) for b in haproxy.backends(settings)]


def kannel_sites(
    settings: StackSettings, kannel: KannelGatewaySettings
) -> list[tuple[str, Path, KannelGatewaySettings]]:
    """(site, var dir, settings) of each site's Kannel gateway (bearerbox, smsbox and the
    carrier stand-in): site a on the configured ports, site b on them + 100."""
    step = KANNEL_SITE_PORT_STEP
    b = kannel.model_copy(update={
        "admin_port": kannel.admin_port + step, "smsbox_port": kannel.smsbox_port + step,
        "sendsms_port": kannel.sendsms_port + step, "smsc_port": kannel.smsc_port + step,
    })  # fmt: skip
    return [("a", settings.var_dir / "kannel-a", kannel), ("b", settings.var_dir / "kannel-b", b)]


def dispatcher_sms_env(
    programs: list[supervise.Program], sites: list[tuple[str, Path, KannelGatewaySettings]]
) -> list[supervise.Program]:
    """Each site's dispatcher sends through its own site's Kannel and, when that one is
    gone, through the other's (alerts/providers/kannel.py)."""
    urls = {site: k.sendsms_url for site, _, k in sites}
    out = []
    for p in programs:
        if p.name.startswith("dispatcher-") and (own := p.name[-1]) in urls:
            other = next(u for s, u in urls.items() if s != own)
            env = {**p.env, "CITYPULSE_SMS_KANNEL_SENDSMS_URL": urls[own],
                   "CITYPULSE_SMS_KANNEL_FALLBACK_SENDSMS_URL": other}  # fmt: skip
            p = dataclasses.replace(p, env=env)
        out.append(p)
    return out
