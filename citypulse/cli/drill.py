"""`citypulse drill start|stop|status|list`: a scenario rehearsed on the live stack's Kafka
and PostgreSQL, in a namespace of its own, at `speed` times real time.

A drill `<id>` has:
- its own topics (prefix `drill-<id>`) and consumer groups (named after the prefix);
- its own database schema `drill_<id>`, every migration applied into it, with the
  registry and zones, and only the drill's recipients; processes run with
  `search_path = drill_<id>, public`, and every table they use exists in the drill schema,
  so nothing of the live city's tables is read or written;
- its own worker (with the alert engine), dispatcher and simulator, started here as
  detached processes; the worker and alert engine read the simulator's clock
  (citypulse/sim_clock.py), so every window, limit, hold and reminder runs as live, faster;
- event ids that start with the drill id, so the same scenario and seed can run again, or
  two drills side by side;
- every text marked: a trigger on the drill schema's outbox starts each body with
  `[훈련] ` (Korean recipients) or `[DRILL] ` (English), whichever path wrote it.
The live city's schema, topics, consumer groups, API and dashboard are never touched.
Acknowledgement links are off in a drill (they would point at the live API). Delivery
reports come back to the live API's DLR route with `drill=<id>`, signed with the drill's
own secret (derived from the live one): the API records them in the drill's outbox only.
Operators act in a drill from the page (`?drill=<id>`): acknowledgements and playbook ticks
go to the drill's schema, in its simulated time (dashboard_api/api/routes/drills.py), which
`drill_clock` in the drill's schema holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from alerts.providers.kannel_dlr import DRILL_PARAM, drill_dlr_secret
from alerts.providers.settings import SmsSettings
from citypulse.config import REPO_ROOT, StackSettings
from citypulse.domain.korea_time import KST
from citypulse.domain.phones import mask_phone
from citypulse.processes import Daemon, ProcessError
from citypulse.settings import Settings
from citypulse.sim_clock import SimulatedClock
from citypulse.topics import ALL_TOPICS, CITY_EVENTS

log = logging.getLogger(__name__)

DRILL_ID = re.compile(r"^[a-z0-9]{1,16}$")
MARKERS = {"ko": "[훈련] ", "en": "[DRILL] "}
PROCESSES = ("worker", "dispatcher", "simulator")
WARMUP_S = 20.0  # the worker joins its group before the simulated clock starts


class DrillError(ProcessError):
    """A drill that cannot start or be found; the message says what to do."""


@dataclass(frozen=True)
class DrillRecipient:
    name: str
    phone_e164: str
    tier: int = 1
    language: str = "ko"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def topic_prefix(drill_id: str) -> str:
    return f"drill-{drill_id}"


def schema(drill_id: str) -> str:
    return f"drill_{drill_id}"


def is_drill(stack: StackSettings) -> bool:
    return bool(stack.drill_id) or stack.topic_prefix.startswith("drill-")


def drill_stack(live: StackSettings, drill_id: str) -> StackSettings:
    """The live stack's Kafka and PostgreSQL, the drill's topics and schema."""
    if not DRILL_ID.match(drill_id):
        raise DrillError(f"drill id {drill_id!r}: 1-16 lowercase letters and digits")
    return live.model_copy(
        update={
            "topic_prefix": topic_prefix(drill_id),
            "db_schema": schema(drill_id),
            "drill_id": drill_id,
            "worker_id": f"drill-{drill_id}",
        }
    )


def drill_dir(live: StackSettings, drill_id: str) -> Path:
    return live.run_dir / "drills" / drill_id


def drill_log_dir(live: StackSettings, drill_id: str) -> Path:
    return live.log_dir / "drills" / drill_id


def daemons(live: StackSettings, drill_id: str) -> dict[str, Daemon]:
    run, logs = drill_dir(live, drill_id), drill_log_dir(live, drill_id)
    return {name: Daemon(name, run, logs) for name in PROCESSES}


def marker_arg(drill_id: str) -> list[str]:
    """A `-X` option CPython keeps and ignores: names the drill in each command line, so
    `stop` signals only its own processes (citypulse.processes checks the marker)."""
    return ["-X", f"citypulse_drill={drill_id}"]


def process_env(
    stack: StackSettings,
    sim_start: datetime,
    wall_start: float,
    speed: float,
    sms: SmsSettings | None = None,
) -> dict[str, str]:
    """What the drill's processes read instead of the live values (`sms`: the live SMS
    section, whose DLR callback and secret the drill's are made from)."""
    live_sms = sms or SmsSettings()
    callback = live_sms.dlr_callback_url
    separator = "&" if urlsplit(callback).query else "?"
    return {
        "CITYPULSE_DRILL_ID": stack.drill_id,
        "CITYPULSE_TOPIC_PREFIX": stack.topic_prefix,
        "CITYPULSE_DB_SCHEMA": stack.db_schema,
        "CITYPULSE_WORKER_ID": stack.worker_id,
        "CITYPULSE_CLOCK_SIM_START": sim_start.isoformat(),
        "CITYPULSE_CLOCK_WALL_START": repr(wall_start),
        "CITYPULSE_CLOCK_SPEED": repr(speed),
        # Not the live city's ports: no metrics servers for a drill.
        "CITYPULSE_WORKER_METRICS_PORT": "0",
        "CITYPULSE_DISPATCH_METRICS_PORT": "0",
        # An acknowledgement link would acknowledge the live alert of the same id.
        "CITYPULSE_SMS_ACK_LINK_BASE_URL": "",
        # Kannel's delivery reports go to the live API's route, with `drill=<id>` and signed
        # with the drill's own secret (derived from the live one, so the API can check it):
        # the API records them in the drill's outbox, never matches them to a live row.
        "CITYPULSE_SMS_DLR_CALLBACK_URL": f"{callback}{separator}{DRILL_PARAM}={stack.drill_id}",
        "CITYPULSE_SMS_DLR_SECRET": drill_dlr_secret(
            live_sms.dlr_secret.get_secret_value(), stack.drill_id
        ),
    }


T = TypeVar("T")


def with_conn(conninfo: str, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    """`work` on one autocommit connection; the SQL of alert tables stays in alerts/tables."""

    async def run() -> T:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            return await work(conn)

    return asyncio.run(run())


def parse_recipient(text: str) -> DrillRecipient:
    """`PHONE[:TIER[:LANG]]`, e.g. `+821000000101:1:en`."""
    from alerts.recipients import normalize_phone

    parts = text.split(":")
    if len(parts) > 3:
        raise argparse.ArgumentTypeError("a drill recipient is PHONE[:TIER[:LANG]]")
    try:
        phone = normalize_phone(parts[0])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"drill recipient: {exc}") from exc
    tier = parts[1] if len(parts) > 1 else "1"
    lang = parts[2] if len(parts) > 2 else "ko"
    if tier not in ("1", "2", "3") or lang not in MARKERS:
        raise argparse.ArgumentTypeError("drill recipient: tier 1-3, language ko or en")
    return DrillRecipient(f"drill {mask_phone(phone)}", phone, int(tier), lang)


def load_recipients(
    live: StackSettings,
    drill: StackSettings,
    extra: list[DrillRecipient],
    groups: list[str],
    include_live: bool,
) -> int:
    """The drill's recipients: the numbers given, the live recipients of the chosen groups
    and, only when an admin asks for them, every active live recipient."""
    from alerts.tables import recipients as recipient_table

    async def copy(conn: psycopg.AsyncConnection[Any]) -> None:
        await recipient_table.copy_into_schema(conn, drill.db_schema, groups, include_live)

    async def add(conn: psycopg.AsyncConnection[Any]) -> int:
        for r in extra:
            await recipient_table.add(conn, r.name, r.phone_e164, r.tier, r.language)
        return await recipient_table.count(conn)

    with_conn(live.db_conninfo, copy)  # the live search_path: reads the live recipients
    return with_conn(drill.db_conninfo, add)


def prepare(live: StackSettings, drill: StackSettings) -> None:
    """The drill's schema (every migration, registry, zones, outbox marker) and topics."""
    from citypulse.cli.stack import import_areas, import_zones
    from infra.db.migrate import migrate
    from infra.kafka import broker

    if drill.db_schema == live.db_schema or drill.topic_prefix == live.topic_prefix:
        raise DrillError("a drill needs its own schema and topic prefix")
    migrate(drill.db_conninfo, drill.db_schema)
    import_areas(drill)
    import_zones(drill)
    from alerts.tables import outbox

    with_conn(
        drill.db_conninfo,
        lambda c: outbox.install_drill_marker(c, drill.db_schema, MARKERS["ko"], MARKERS["en"]),
    )
    broker.ensure_topics(drill)


def save_clock(drill: StackSettings, scenario: str, clock: SimulatedClock) -> None:
    """The drill's clock in its schema: the API times operators' actions in the drill by it."""
    from dashboard_api.store import drills as drill_store

    with_conn(
        drill.db_conninfo,
        lambda c: drill_store.save_clock(c, drill.drill_id, scenario, clock),
    )


def wait_worker(drill: StackSettings, deadline: float) -> bool:
    ident = sql.Identifier(drill.db_schema)
    while time.time() < deadline:
        try:
            with psycopg.connect(drill.db_conninfo) as conn:
                row = conn.execute(
                    sql.SQL("SELECT count(*) FROM {}.worker_heartbeats").format(ident)
                ).fetchone()
            if row and row[0]:
                return True
        except psycopg.Error:
            pass
        time.sleep(0.5)
    return False


def cmd_start(args: argparse.Namespace, config: Settings) -> int:
    live = config.stack
    if is_drill(live):
        raise DrillError("run `citypulse drill start` with the live stack's settings")
    if config.sms.provider != "log" and not (args.recipient or args.group or args.include_live):
        raise DrillError(
            "a drill texts only its own recipients: give --recipient PHONE[:TIER[:LANG]] "
            "or --group NAME (live recipients of that group)"
        )
    from sensors.simulator.scenarios import SCENARIOS

    if args.scenario not in SCENARIOS:
        raise DrillError(
            f"unknown scenario {args.scenario!r}; known: {', '.join(sorted(SCENARIOS))}"
        )
    drill_id = args.id or secrets.token_hex(3)
    drill = drill_stack(live, drill_id)
    if drill_dir(live, drill_id).exists():
        raise DrillError(f"drill {drill_id} exists; `citypulse drill stop {drill_id} --drop` first")
    prepare(live, drill)
    n = load_recipients(live, drill, args.recipient or [], args.group or [], args.include_live)
    wall_start = time.time() + args.warmup_s
    start = args.start or datetime.fromtimestamp(wall_start, KST)
    sim_start = start.astimezone(KST).replace(second=0, microsecond=0)
    env = process_env(drill, sim_start, wall_start, args.speed, config.sms)
    save_clock(drill, args.scenario, SimulatedClock(sim_start, wall_start, args.speed))
    # Faust reads WEB_PORT (which a live worker's environment may fix): a port of its own.
    env["WEB_PORT"] = str(free_port())
    py = [sys.executable, *marker_arg(drill_id)]
    procs = daemons(live, drill_id)
    record = {
        "id": drill_id, "scenario": args.scenario, "seed": args.seed, "speed": args.speed,
        "sim_start": sim_start.isoformat(), "wall_start": wall_start,
        "minutes": args.duration_min, "topic_prefix": drill.topic_prefix,
        "schema": drill.db_schema, "recipients": n, "groups": args.group or [],
        "include_live": args.include_live, "started_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    run = drill_dir(live, drill_id)
    run.mkdir(parents=True, exist_ok=True)
    (run / "drill.json").write_text(json.dumps(record, indent=1))
    marker = f"citypulse_drill={drill_id}"
    procs["worker"].start(
        [*py, "-m", "faust", "-A", "streams.app", "worker", "-l", "info"],
        marker=marker, env=env, cwd=REPO_ROOT,
    )  # fmt: skip
    procs["dispatcher"].start(
        [*py, "-m", "citypulse.cli", "dispatcher"], marker=marker, env=env, cwd=REPO_ROOT
    )
    sim = [*py, "-m", "sensors.simulator", args.scenario, "--start", sim_start.isoformat(),
           "--seed", str(args.seed), "--speed", repr(args.speed), "--run-id", drill_id,
           "--wall-start", repr(wall_start), "--bootstrap", drill.kafka_bootstrap,
           "--topic", CITY_EVENTS.name(drill.topic_prefix)]  # fmt: skip
    if args.duration_min is not None:
        sim += ["--minutes", str(args.duration_min)]
    if args.areas is not None:
        sim += ["--areas", str(args.areas)]
    procs["simulator"].start(sim, marker=marker, env=env, cwd=REPO_ROOT)
    joined = wait_worker(drill, wall_start + 40)
    _out(f"drill {drill_id}: {args.scenario} seed {args.seed} at {args.speed:g}x from "
         f"{sim_start.isoformat()} (simulated), {n} recipient(s)")  # fmt: skip
    _out(f"  topics {drill.topic_prefix}.*, schema {drill.db_schema}, "
         f"logs {drill_log_dir(live, drill_id)}")  # fmt: skip
    if not joined:
        _out(f"  warning: the drill worker has not reported yet; see {procs['worker'].log_file}")
    _out(f"  status: citypulse drill status {drill_id}   stop: citypulse drill stop {drill_id}")
    return 0


def _record(live: StackSettings, drill_id: str) -> dict[str, Any]:
    if not DRILL_ID.match(drill_id):
        raise DrillError(f"drill id {drill_id!r}: 1-16 lowercase letters and digits")
    path = drill_dir(live, drill_id) / "drill.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DrillError(f"no drill {drill_id}; see `citypulse drill list`") from exc
    return data


def sim_time(record: dict[str, Any], at: float) -> datetime:
    """The drill's simulated time at wall instant `at` (epoch seconds)."""
    from citypulse.sim_clock import SimulatedClock

    start = datetime.fromisoformat(record["sim_start"])
    return SimulatedClock(start, record["wall_start"], record["speed"], lambda: at)()


DECISIONS = ("opened", "escalated", "deescalated", "auto_resolved")


def decisions(stack: StackSettings) -> list[tuple[str, ...]]:
    """(area, zone, rule, action, stages) of every crowd alert decision of the drill, in
    order: what a seed must repeat. Times, numbers, reminders and texts are left out, and
    so are the technical rules (data gap, data quality): at 60x a second of the machine's
    own delay is a simulated minute, so they follow the machine's pace, not the scenario."""
    from alerts.rules.config import TECHNICAL_RULES
    from alerts.tables import alerts as alert_table

    trail = with_conn(stack.db_conninfo, lambda c: alert_table.decision_trail(c, DECISIONS))
    technical = {r.value for r in TECHNICAL_RULES}
    return [d for d in trail if d[2] not in technical]


def cmd_status(args: argparse.Namespace, config: Settings) -> int:
    live = config.stack
    record = _record(live, args.drill_id)
    drill = drill_stack(live, args.drill_id)
    now_sim = sim_time(record, time.time())
    procs = daemons(live, args.drill_id)
    now_text = now_sim.astimezone(KST).isoformat(timespec="seconds")
    _out(f"drill {record['id']}: {record['scenario']} seed {record['seed']} at "
         f"{record['speed']:g}x; simulated now {now_text}")  # fmt: skip
    for name, d in procs.items():
        _out(f"  {name:10s} {'running' if d.is_running() else 'stopped'}")
    from alerts.tables import alerts as alert_table
    from alerts.tables import outbox

    async def read(
        conn: psycopg.AsyncConnection[Any],
    ) -> tuple[list[dict[str, Any]], list[tuple[str, int]], list[tuple[Any, ...]]]:
        alerts = await alert_table.list_rows(conn, limit=1000)
        sms = await outbox.status_counts(conn)
        cur = await conn.execute("SELECT reason, count FROM dead_letter_counts ORDER BY 1")
        return sorted(alerts, key=lambda a: int(a["id"])), sms, list(await cur.fetchall())

    alerts, sms, dead = with_conn(drill.db_conninfo, read)
    _out(f"  alerts: {len(alerts)}")
    for a in alerts:
        opened = a["opened_at"].astimezone(KST).isoformat(timespec="seconds")
        where = f"{a['area_code']}/{a['zone_id']}" if a["zone_id"] else a["area_code"]
        _out(f"    #{a['id']} {where} {a['rule']} {a['stage']} {a['status']} "
             f"opened {opened} (simulated)")  # fmt: skip
    _out("  texts: " + (", ".join(f"{s} {n}" for s, n in sms) or "none"))
    _out("  dead letters: " + (", ".join(f"{r} {n}" for r, n in dead) or "none"))
    return 0


def cmd_list(args: argparse.Namespace, config: Settings) -> int:
    live = config.stack
    root = live.run_dir / "drills"
    ids = (
        sorted(p.name for p in root.iterdir() if (p / "drill.json").exists())
        if root.exists()
        else []
    )
    if not ids:
        _out("no drills")
    for drill_id in ids:
        record = _record(live, drill_id)
        running = [n for n, d in daemons(live, drill_id).items() if d.is_running()]
        state = "running: " + ", ".join(running) if running else "stopped"
        _out(f"{drill_id}  {record['scenario']} seed {record['seed']} {record['speed']:g}x  "
             f"started {record['started_at']}  {state}")  # fmt: skip
    return 0


def cmd_stop(args: argparse.Namespace, config: Settings) -> int:
    live = config.stack
    record = _record(live, args.drill_id)
    stopped = [n for n, d in reversed(list(daemons(live, args.drill_id).items())) if d.stop()]
    _out(f"drill {record['id']}: stopped " + (", ".join(stopped) if stopped else "nothing"))
    if args.drop:
        drop(live, args.drill_id)
        _out(f"drill {record['id']}: schema {record['schema']} and topics "
             f"{record['topic_prefix']}.* dropped")  # fmt: skip
    return 0


def drop(live: StackSettings, drill_id: str) -> None:
    """The drill's schema, topics and run files; the live city's are never named here."""
    from infra.kafka import broker

    drill = drill_stack(live, drill_id)
    with psycopg.connect(live.db_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(drill.db_schema))
        )
    broker.delete_topics(drill, [s.name(drill.topic_prefix) for s in ALL_TOPICS])
    shutil.rmtree(drill_dir(live, drill_id), ignore_errors=True)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _start_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=KST)


def add_command(sub: Any) -> None:
    drill = sub.add_parser(
        "drill", help="rehearse a scenario on the live stack, in its own namespace"
    )
    dsub = drill.add_subparsers(dest="drill_command", required=True)
    start = dsub.add_parser("start", help="start a drill: its own topics, schema, worker, clock")
    start.add_argument("scenario")
    start.add_argument("--speed", type=float, default=60.0, help="simulated seconds per second")
    start.add_argument("--seed", type=int, default=7)
    start.add_argument("--id", default=None, help="drill id (default: random), a-z0-9")
    start.add_argument("--start", type=_start_time, default=None,
                       help="simulated start (ISO; KST if no offset); default: now")  # fmt: skip
    start.add_argument("--duration-min", type=float, default=None, help="simulated minutes")
    start.add_argument("--areas", type=int, default=None, help="only the first N hotspots")
    start.add_argument("--recipient", type=parse_recipient, action="append",
                       help="a drill-only number, PHONE[:TIER[:LANG]] (repeatable)")  # fmt: skip
    start.add_argument("--group", action="append",
                       help="live recipients of this group take part (repeatable)")  # fmt: skip
    start.add_argument("--include-live-recipients", dest="include_live", action="store_true",
                       help="admin only: every active live recipient takes part too")  # fmt: skip
    start.add_argument("--warmup-s", type=float, default=WARMUP_S, help=argparse.SUPPRESS)
    start.set_defaults(func=cmd_start)
    for name, func, what in (
        ("status", cmd_status, "processes, alerts, texts and dead letters of a drill"),
        ("stop", cmd_stop, "stop a drill's processes"),
    ):
        p = dsub.add_parser(name, help=what)
        p.add_argument("drill_id")
        if name == "stop":
            p.add_argument("--drop", action="store_true", help="also drop its schema and topics")
        p.set_defaults(func=func)
    dsub.add_parser("list", help="drills on this machine").set_defaults(func=cmd_list)
