"""`citypulse up / down / status`: the whole stack on this machine, started in order.

Every long-running process runs under supervisord (citypulse.cli.supervise), which
restarts it: PostgreSQL's postmaster, the Kafka broker and, when the SMS provider is
Kannel, the carrier stand-in, bearerbox and smsbox first, each started once the one
before answers; then the application processes. `down` shuts supervisord down, which stops
them in the reverse order (the infrastructure last, each with its graceful signal).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from citypulse.cli import ha, ha_stack, supervise
from citypulse.config import StackSettings
from citypulse.processes import ProcessError, port_open, require_port_free, wait_until
from infra.db import cluster
from infra.db.migrate import migrate
from infra.kafka import broker
from infra.kafka import cluster as kafka_cluster
from infra.kannel import gateway
from infra.kannel.settings import KannelGatewaySettings
from sensors.former_names import former_name_rows
from sensors.registry import Hotspot, load_hotspots
from sensors.registry_import import hotspot_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppProcess:
    name: str
    argv: Callable[[StackSettings], list[str]]
    env: Mapping[str, str] = field(default_factory=dict)


def _py(*args: str) -> list[str]:
    return [sys.executable, *args]


def _simulate_args(s: StackSettings) -> list[str]:
    areas, kinds = str(s.simulate_areas), s.simulate_feeds
    return ["simulate", "--realtime", "--areas", areas, "--kinds", kinds]


APP_PROCESSES: tuple[AppProcess, ...] = (
    AppProcess("worker", lambda s: _py("-m", "faust", "-A", "streams.app", "worker", "-l", "info")),
    AppProcess("dispatcher", lambda s: _py("-m", "citypulse.cli", "dispatcher")),
    AppProcess(
        "api",
        lambda s: _py(
            "-m",
            "uvicorn",
            "dashboard_api.main:app",
            "--host",
            s.api_host,
            "--port",
            str(s.api_port),
            "--log-level",
            "info",
            # Explicit, not uvicorn's "auto": a missing wheel must fail loudly, not quietly
            # fall back to the slower pure-Python loop and parser the benchmarks never saw.
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            # uvicorn's websockets-sansio protocol plus the sink that lets the pacer write
            # one shared encoding of a frame to every client (dashboard_api/live/wire.py).
            "--ws",
            "dashboard_api.live.wire:SharedFrameProtocol",
            # The API reads X-Forwarded-For itself, from CITYPULSE_TRUSTED_PROXIES only;
            # uvicorn's default would believe any header sent from 127.0.0.1.
            "--no-proxy-headers",
            "--ws-per-message-deflate",
            str(s.api_ws_deflate).lower(),
        ),
    ),
    AppProcess("simulator", lambda s: _py("-m", "citypulse.cli", *_simulate_args(s))),
    AppProcess("watchdog", lambda s: _py("-m", "alerts.watchdog")),
)


def app_processes(settings: StackSettings) -> list[AppProcess]:
    """What `up` runs, in order: `settings.workers` stream workers in one group first."""
    first, rest = APP_PROCESSES[0], APP_PROCESSES[1:]
    more = [
        AppProcess(f"worker-{n}", first.argv, {"CITYPULSE_WORKER_ID": f"worker-{n}"})
        for n in range(2, settings.workers + 1)
    ]
    procs = [first, *more, *rest]
    if settings.ha:  # one of each per site (citypulse/cli/ha.py)
        procs = [
            dataclasses.replace(p, name=name, env={**p.env, **env})
            for p in (first, *rest)
            for name, env in ha.site_copies(p.name, settings)
        ]
        # and one API process per site, behind HAProxy on api_port (ha_stack.py)
        api = next(p for p in procs if p.name == "api")
        sites = [AppProcess(n, ha_stack.api_argv(api.argv, port), env)
                 for n, port, env in ha_stack.api_sites(settings)]  # fmt: skip
        i = procs.index(api)
        procs[i : i + 1] = sites
    return procs


def layout(settings: StackSettings) -> supervise.Layout:
    return supervise.Layout(settings.run_dir, settings.log_dir)


def programs(settings: StackSettings, wanted: list[AppProcess]) -> list[supervise.Program]:
    # The watchdog first and the worker(s) before the processes that read what they write;
    # supervisord stops them in the reverse order.
    priority = {"watchdog": 10, "dispatcher": 200, "api": 300, "simulator": 400}
    return [
        supervise.Program(
            p.name,
            p.argv(settings),
            p.env,
            priority=priority.get(ha.base_name(p.name), 100),
            startsecs=10 if p.name.startswith("worker") else 5,  # Faust takes a while to join
        )
        for p in wanted
    ]


def import_areas(settings: StackSettings, hotspots: list[Hotspot] | None = None) -> int:
    rows = hotspot_rows(hotspots if hotspots is not None else load_hotspots())
    with psycopg.connect(settings.db_conninfo) as conn, conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO areas (code, name_ko, name_en, category, district, polygon, area_m2,
                   walkable_fraction, centroid_lon, centroid_lat)
               VALUES (%(code)s, %(name_ko)s, %(name_en)s, %(category)s, %(district)s,
                   %(polygon)s, %(area_m2)s, %(walkable_fraction)s, %(centroid_lon)s,
                   %(centroid_lat)s)
               ON CONFLICT (code) DO UPDATE SET name_ko = EXCLUDED.name_ko,
                   name_en = EXCLUDED.name_en, category = EXCLUDED.category,
                   district = EXCLUDED.district, polygon = EXCLUDED.polygon,
                   area_m2 = EXCLUDED.area_m2, centroid_lon = EXCLUDED.centroid_lon,
                   centroid_lat = EXCLUDED.centroid_lat, updated_at = now()""",
            [{**r, "polygon": json.dumps(r["polygon_geojson"])} for r in rows],
        )
        formers = former_name_rows()
        cur.execute("DELETE FROM area_former_names")  # the shipped table is the whole truth
        cur.executemany(
            "INSERT INTO area_former_names (former_name, former_code, former_list, area_code,"
            " relation, reason) VALUES (%(former_name)s, %(former_code)s, %(former_list)s,"
            " %(area_code)s, %(relation)s, %(reason)s)",
            formers,
        )
    return len(rows)


def import_zones(settings: StackSettings, hotspots: list[Hotspot] | None = None) -> int:
    """The default zones (station exits, streets, narrow alleys) of every hotspot."""
    from citypulse.domain.stages import NARROW_ALLEY_THRESHOLDS
    from sensors.simulator.profile import load_calibration
    from sensors.simulator.zones import default_zones

    narrow = json.dumps(dataclasses.asdict(NARROW_ALLEY_THRESHOLDS))
    zones = default_zones(hotspots if hotspots is not None else load_hotspots(), load_calibration())
    with psycopg.connect(settings.db_conninfo) as conn, conn.cursor() as cur:
        # Existing zones keep what an operator set; only new ones are added.
        cur.executemany(
            """INSERT INTO zones (area_code, zone_id, name, walkable_m2, thresholds)
               VALUES (%s, %s, %s, %s, %s) ON CONFLICT (area_code, zone_id) DO NOTHING""",
            [
                (z.area_code, z.zone_id, z.name_ko, z.walkable_m2, narrow if z.narrow else None)
                for z in zones
            ],
        )
    return len(zones)


def seed_demo_recipients(settings: StackSettings) -> None:
    """Three demo crowd tiers and a technical on-call (feed and data-gap alerts), with
    numbers from a range no carrier assigns (010-0000-xxxx)."""
    demo = [
        ("구청 CCTV 관제센터 (demo)", "+821000000001", 1, "crowd"),
        ("서울시 재난안전상황실 (demo)", "+821000000002", 2, "crowd"),
        ("소방·경찰 상황실 (demo)", "+821000000003", 3, "crowd"),
        ("시스템 당직 (demo)", "+821000000009", 1, "technical"),
    ]
    with psycopg.connect(settings.db_conninfo) as conn:
        if conn.execute("SELECT count(*) FROM recipients").fetchone() == (0,):
            conn.cursor().executemany(
                "INSERT INTO recipients (name, phone_e164, tier, role) VALUES (%s, %s, %s, %s)",
                demo,
            )


@dataclass(frozen=True)
class InfraStep:
    """An infrastructure program and how `up` knows it is ready for the next one."""

    program: supervise.Program
    ready: Callable[[], bool]
    ports: tuple[tuple[str, int, str, str], ...]  # host, port, what, variable: free before


def postgres_program(settings: StackSettings, argv: list[str]) -> supervise.Program:
    return supervise.Program(
        "postgres", argv, priority=2,
        stopsignal="INT",  # fast shutdown: clients disconnected, a clean checkpoint
        stopasgroup=False,  # the postmaster stops its own backends
        stopwaitsecs=60,  # a checkpoint of up to max_wal_size
        directory=cluster.data_dir(settings),
    )  # fmt: skip


def kafka_program(argv: list[str]) -> supervise.Program:
    # SIGTERM: a controlled shutdown that flushes the logs, so the next start needs no
    # log recovery. On a loaded machine that can take tens of seconds.
    return supervise.Program("kafka", argv, priority=3, startsecs=10, stopwaitsecs=90)


def kannel_program(name: str, argv: list[str], priority: int) -> supervise.Program:
    # bearerbox writes its queue to the store as it stops on SIGTERM.
    return supervise.Program(name, argv, priority=priority, startsecs=3, stopwaitsecs=30)


KANNEL_NAMES = {gateway.CARRIER: "carrier-standin"}  # bearerbox, smsbox keep their names


def infra_steps(settings: StackSettings, kannel: KannelGatewaySettings | None) -> list[InfraStep]:
    """What `up` runs before the application, in start order; installs and initialises
    what is missing (Debian's PostgreSQL and initdb, Kafka's jars and storage)."""
    s = settings
    db = [
        InfraStep(
            postgres_program(s, cluster.prepare(s)),
            lambda: cluster.is_ready(s),
            ((s.db_host, s.db_port, "PostgreSQL", "CITYPULSE_DB_PORT"),),
        ),
    ]
    if s.ha:  # pg_auto_failover's monitor and the two sites' PostgreSQL instead
        db = [InfraStep(*step) for step in ha_stack.postgres_steps(s)]
    steps = [*db, *_kafka_steps(s)]
    if kannel is not None:
        gateway.install_if_missing()
        # HA mode: one gateway per site ("bearerbox-a", ..., "carrier-standin-b").
        gateways = [("", s.var_dir / "kannel", kannel)]
        if s.ha:
            gateways = [(f"-{site}", d, k) for site, d, k in ha_stack.kannel_sites(s, kannel)]
        for suffix, var_dir, k in gateways:
            commands = gateway.supervised_commands(var_dir, k)
            for n, (name, argv, host, port) in enumerate(commands):
                steps.append(
                    InfraStep(
                        kannel_program(KANNEL_NAMES.get(name, name) + suffix, argv, 4 + n),
                        lambda h=host, p=port: port_open(h, p),  # type: ignore[misc]
                        ((host, port, f"Kannel's {name}{suffix}", "CITYPULSE_KANNEL_*_PORT"),),
                    )
                )
    if s.ha:
        steps.append(InfraStep(*ha_stack.haproxy_step(s)))
    return steps


def _kafka_steps(s: StackSettings) -> list[InfraStep]:
    if s.ha:  # three nodes (citypulse/cli/ha.py)
        return [InfraStep(*step) for step in ha.kafka_steps(s)]
    return [
        InfraStep(
            kafka_program(broker.prepare(s)),
            lambda: broker.is_ready(s),
            ((s.kafka_host, s.kafka_port, "Kafka", "CITYPULSE_KAFKA_PORT"),
             (s.kafka_host, s.kafka_controller_port, "Kafka controller",
              "CITYPULSE_KAFKA_CONTROLLER_PORT")),
        )
    ]  # fmt: skip


def _wait_ready(settings: StackSettings, step: InfraStep, timeout_s: float) -> None:
    lay, name = layout(settings), step.program.name
    deadline = time.monotonic() + timeout_s
    while not step.ready():
        if supervise.state(lay, name) == "FATAL" or time.monotonic() > deadline:
            raise ProcessError(
                f"{name} did not become ready within {timeout_s:.0f} s (`citypulse down` stops "
                f"what did start). Its log ({lay.log_file(name)}):\n{supervise.log_tail(lay, name)}"
            )
        time.sleep(0.5)


def _after_ready(settings: StackSettings, name: str) -> None:
    if name == "postgres":
        cluster.ensure_role_and_database(settings)
        migrate(settings.db_conninfo, settings.db_schema)
    elif name == settings.kafka_nodes[-1].name:  # "kafka", or the last of HA mode's three
        broker.ensure_topics(settings)
    elif settings.ha and name == ha_stack.last_postgres(settings):
        ha_stack.prepare_database(settings, migrate)


def up(
    settings: StackSettings,
    *,
    simulate: bool = True,
    kannel: KannelGatewaySettings | None = None,
    timeout_s: float = 90.0,
) -> None:
    """Start the stack under supervisord; with `kannel`, the local Kannel gateway too."""
    lay = layout(settings)
    wanted = [p for p in app_processes(settings) if simulate or p.name != "simulator"]
    apps = programs(settings, wanted)
    if settings.ha and kannel is not None:  # each site's dispatcher: its own Kannel first
        apps = ha_stack.dispatcher_sms_env(apps, ha_stack.kannel_sites(settings, kannel))
    if supervise.is_running(lay):  # leave it alone; just make sure it serves
        db = ("postgres", cluster.is_ready)
        if settings.ha:
            db = (ha_stack.last_postgres(settings), ha_stack.database_ready)
        last_kafka = settings.kafka_nodes[-1].name
        for name, ready in (db, (last_kafka, broker.is_ready)):
            wait_until(lambda r=ready: r(settings), timeout_s, name)
            _after_ready(settings, name)
        _load_reference_data(settings)
        wait_healthy(settings, timeout_s)
        return
    steps = infra_steps(settings, kannel)
    for step in steps:
        for host, port, what, variable in step.ports:
            require_port_free(host, port, what, variable)
    if not settings.ha:  # in HA mode HAProxy's step has the API ports
        require_port_free(settings.api_host, settings.api_port, "API", "CITYPULSE_API_PORT")
    # `status` checks what `up` was asked to run, not more.
    names = [s.program.name for s in steps] + [p.name for p in apps]
    _selection_file(settings).write_text(json.dumps(names))
    # The watchdog's memory is for its own restarts, not for a new `up`.
    for memory in settings.run_dir.glob("watchdog*.json"):  # HA: one per site
        memory.unlink(missing_ok=True)
    supervise.start(lay, [s.program for s in steps] + apps, cwd=Path.cwd())
    for step in steps:
        log.info("starting %s", step.program.name)
        supervise.start_program(lay, step.program.name)
        _wait_ready(settings, step, timeout_s)
        _after_ready(settings, step.program.name)
    _load_reference_data(settings)
    for app in sorted(apps, key=lambda p: p.priority):
        supervise.start_program(lay, app.name)
    wait_healthy(settings, timeout_s)


def _load_reference_data(settings: StackSettings) -> None:
    import_areas(settings)
    import_zones(settings)
    seed_demo_recipients(settings)


def wait_healthy(settings: StackSettings, timeout_s: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = health(settings)
        if body.get("status") == "ok":
            return body
        for info in supervise.processes(layout(settings)):
            if info["statename"] == "FATAL":  # supervisord gave up after its retries
                name = info["name"]
                raise ProcessError(
                    f"{name} keeps exiting. Its log ({layout(settings).log_file(name)}):\n"
                    f"{supervise.log_tail(layout(settings), name)}"
                )
        time.sleep(1)
    raise ProcessError(f"the stack did not become healthy within {timeout_s:.0f} s: {body}")


def health(settings: StackSettings) -> dict[str, object]:
    try:
        with urllib.request.urlopen(f"{settings.api_url}/health", timeout=5) as resp:  # noqa: S310
            body: dict[str, object] = json.loads(resp.read())
            return body
    except urllib.error.HTTPError as exc:
        try:
            err_body: dict[str, object] = json.loads(exc.read() or b"{}")
        except ValueError:  # HA mode: HAProxy's own 503 page while no API answers yet
            return {"status": "down", "error": f"HTTP {exc.code}, not the API's answer"}
        return err_body
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return {"status": "down", "error": str(exc)}


def down(settings: StackSettings) -> list[str]:
    # supervisord knows what `up` started, even if CITYPULSE_WORKERS has changed since.
    stopped = supervise.stop(layout(settings))
    # A Kafka or PostgreSQL started by `citypulse kafka|db start` (pid file, pg_ctl).
    if broker.stop(settings):
        stopped.append("kafka")
    stopped += [n for n in kafka_cluster.stop(settings) if n not in stopped]  # HA mode
    if cluster.stop(settings) and "postgres" not in stopped:
        stopped.append("postgres")
    return stopped


def _selection_file(settings: StackSettings) -> Path:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    return settings.run_dir / "stack.json"


def _selected(settings: StackSettings) -> list[str]:
    try:
        names: list[str] = json.loads(_selection_file(settings).read_text())
        return names
    except (FileNotFoundError, ValueError):
        return ["postgres", "kafka", *(p.name for p in APP_PROCESSES)]


@dataclass(frozen=True)
class Component:
    up: bool
    detail: str = ""  # supervisord's state, pid and the restarts counted since `up`


def status(settings: StackSettings) -> dict[str, Component]:
    info = {p["name"]: p for p in supervise.processes(layout(settings))}
    restarts = supervise.restart_counts(layout(settings))
    answers: dict[str, Callable[[], bool]] = {
        "postgres": lambda: port_open(settings.db_host, settings.db_port),
    }
    for node in settings.kafka_nodes:  # "kafka", or HA mode's three
        answers[node.name] = lambda n=node: port_open(n.host, n.port)  # type: ignore[misc]
    result = {}
    for name in _selected(settings):
        p = info.get(name, {"statename": "NOT-STARTED", "pid": 0})
        result[name] = Component(
            p["statename"] == "RUNNING" and answers.get(name, lambda: True)(),
            f"{p['statename']:8s} pid={p['pid'] or '-'} restarts={restarts.get(name, 0)}",
        )
    result["api_health"] = Component(health(settings).get("status") == "ok")
    return result
