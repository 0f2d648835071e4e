"""`citypulse up / down / status`: the whole stack on this machine, started in order.

PostgreSQL and Kafka are started first (pid files under the var dir); the application
processes then run under supervisord (citypulse.cli.supervise), which restarts them. `down`
stops supervisord with its programs, then Kafka and the project's own PostgreSQL
cluster, nothing else.
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

from citypulse.cli import supervise
from citypulse.config import StackSettings
from citypulse.processes import ProcessError, port_open, require_port_free
from infra.db import cluster
from infra.db.migrate import migrate
from infra.kafka import broker
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
            # The API reads X-Forwarded-For itself, from CITYPULSE_TRUSTED_PROXIES only;
            # uvicorn's default would believe any header sent from 127.0.0.1.
            "--no-proxy-headers",
            "--ws-per-message-deflate",
            str(s.api_ws_deflate).lower(),
        ),
    ),
    AppProcess("simulator", lambda s: _py("-m", "citypulse.cli", "simulate", "--realtime")),
    AppProcess("watchdog", lambda s: _py("-m", "alerts.watchdog")),
)


def app_processes(settings: StackSettings) -> list[AppProcess]:
    """What `up` runs, in order: `settings.workers` stream workers in one group first."""
    first, rest = APP_PROCESSES[0], APP_PROCESSES[1:]
    more = [
        AppProcess(f"worker-{n}", first.argv, {"CITYPULSE_WORKER_ID": f"worker-{n}"})
        for n in range(2, settings.workers + 1)
    ]
    return [first, *more, *rest]


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
            priority=priority.get(p.name, 100),
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


def start_infra(settings: StackSettings) -> None:
    log.info("starting PostgreSQL on %s:%s", settings.db_host, settings.db_port)
    cluster.start(settings)
    migrate(settings.db_conninfo, settings.db_schema)
    log.info("starting Kafka on %s", settings.kafka_bootstrap)
    broker.start(settings)
    broker.ensure_topics(settings)


def up(settings: StackSettings, *, simulate: bool = True, timeout_s: float = 90.0) -> None:
    start_infra(settings)
    import_areas(settings)
    import_zones(settings)
    seed_demo_recipients(settings)
    wanted = [p for p in app_processes(settings) if simulate or p.name != "simulator"]
    # `status` checks what `up` was asked to run, not more.
    _selection_file(settings).write_text(json.dumps([p.name for p in wanted]))
    if not supervise.is_running(layout(settings)):
        require_port_free(settings.api_host, settings.api_port, "API", "CITYPULSE_API_PORT")
        # The watchdog's memory is for its own restarts, not for a new `up`.
        (settings.run_dir / "watchdog.json").unlink(missing_ok=True)
        supervise.start(layout(settings), programs(settings, wanted), cwd=Path.cwd())
    wait_healthy(settings, timeout_s)


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
        err_body: dict[str, object] = json.loads(exc.read() or b"{}")
        return err_body
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return {"status": "down", "error": str(exc)}


def down(settings: StackSettings) -> list[str]:
    # supervisord knows what `up` started, even if CITYPULSE_WORKERS has changed since.
    stopped = supervise.stop(layout(settings))
    if broker.stop(settings):
        stopped.append("kafka")
    if cluster.stop(settings):
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
        return [p.name for p in APP_PROCESSES]


@dataclass(frozen=True)
class Component:
    up: bool
    detail: str = ""  # supervisord's state, pid and the restarts counted since `up`


def status(settings: StackSettings) -> dict[str, Component]:
    result = {
        "postgres": Component(
            cluster.is_running(settings) and port_open(settings.db_host, settings.db_port)
        ),
        "kafka": Component(
            broker.daemon(settings).is_running()
            and port_open(settings.kafka_host, settings.kafka_port)
        ),
    }
    info = {p["name"]: p for p in supervise.processes(layout(settings))}
    restarts = supervise.restart_counts(layout(settings))
    for name in _selected(settings):
        p = info.get(name, {"statename": "NOT-STARTED", "pid": 0})
        result[name] = Component(
            p["statename"] == "RUNNING",
            f"{p['statename']:8s} pid={p['pid'] or '-'} restarts={restarts.get(name, 0)}",
        )
    result["api_health"] = Component(health(settings).get("status") == "ok")
    return result
