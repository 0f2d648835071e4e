"""The `citypulse` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from pathlib import Path

from citypulse.cli import db_backup, drill, ingest_cmd
from citypulse.config import StackSettings
from citypulse.logs import configure_logging
from citypulse.processes import ProcessError
from citypulse.settings import Settings
from streams import backfill, calibration_store

log = logging.getLogger("citypulse")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def cmd_up(args: argparse.Namespace, config: Settings) -> int:
    from citypulse.cli import stack

    settings = config.stack
    # With Kannel as the SMS provider, the local gateway (CITYPULSE_KANNEL_*) is part of the
    # stack; a production Kannel runs under systemd instead (deploy/systemd).
    kannel = config.kannel if config.sms.provider == "kannel" else None
    stack.up(settings, simulate=not args.no_simulator, kannel=kannel)
    _out(f"CityPulse is up. Dashboard: {settings.api_url}/  (health: {settings.api_url}/health)")
    _out(f"Logs: {settings.log_dir}   Stop: citypulse down")
    return 0


def cmd_down(args: argparse.Namespace, config: Settings) -> int:
    from citypulse.cli import stack

    settings = config.stack
    stopped = stack.down(settings)
    _out("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(args: argparse.Namespace, config: Settings) -> int:
    from citypulse.cli import stack

    settings = config.stack
    result = stack.status(settings)
    for name, c in result.items():
        _out(f"{name:15s} {'up' if c.up else 'DOWN':4s}  {c.detail}".rstrip())
    return 0 if all(c.up for c in result.values()) else 1


def cmd_db(args: argparse.Namespace, config: Settings) -> int:
    import psycopg

    from infra.db import cluster
    from infra.db.migrate import detect_backend, migrate

    settings = config.stack
    if args.db_command == "start":
        cluster.start(settings)
        if not args.no_migrate:
            migrate(settings.db_conninfo, settings.db_schema)
        return 0
    if args.db_command == "backup":
        return db_backup.run_backup(args, settings)
    if args.db_command == "restore":
        return db_backup.run_restore(args, settings)
    if args.db_command == "stop":
        cluster.stop(settings)
        return 0
    if args.db_command == "migrate":
        applied = migrate(settings.db_conninfo, settings.db_schema)
        _out(f"applied {len(applied)} migration(s): " + ", ".join(m.name for m in applied))
        return 0
    with psycopg.connect(settings.db_conninfo) as conn:
        backend = detect_backend(conn)
        version = conn.execute("SHOW server_version").fetchone()
        ts = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        tables = conn.execute(
            """SELECT c.relname, CASE c.relkind WHEN 'p' THEN 'partitioned' WHEN 'v' THEN 'view'
                      ELSE 'table' END
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
                ORDER BY 1""",
            (settings.db_schema,),
        ).fetchall()
        migrations = conn.execute(
            "SELECT version, name FROM schema_migrations ORDER BY 1"
        ).fetchall()
    _out(
        f"backend: {backend}"
        + (f" (timescaledb {ts[0]})" if ts else " (stock PostgreSQL fallback)")
    )
    _out(f"server version: {version[0] if version else '?'}")
    _out(
        f"schema: {settings.db_schema}; migrations: {', '.join(f'{v}_{n}' for v, n in migrations)}"
    )
    _out("tables:")
    for name, kind in tables:
        _out(f"  {name} ({kind})")
    return 0


def cmd_kafka(args: argparse.Namespace, config: Settings) -> int:
    from infra.kafka import broker, cluster

    settings = config.stack
    if args.kafka_command == "start" and settings.ha:  # HA mode: three nodes
        cluster.start(settings)
        broker.ensure_topics(settings)
    elif args.kafka_command == "start":
        broker.start(settings)
        broker.ensure_topics(settings)
    elif args.kafka_command == "stop" and settings.ha:
        cluster.stop(settings)
    elif args.kafka_command == "stop":
        broker.stop(settings)
    elif settings.ha:  # each node's argv, one a line
        for node in settings.kafka_nodes:
            _out(f"{node.name}: {' '.join(cluster.prepare(settings, node))}")
    else:  # jars, server.properties and the formatted storage: what a systemd unit runs
        _out(" ".join(broker.prepare(settings)))
    return 0


def cmd_areas(args: argparse.Namespace, config: Settings) -> int:
    from citypulse.cli.stack import import_areas
    from sensors.registry_import import load_official_hotspots

    settings = config.stack
    hotspots = load_official_hotspots(Path(args.path))
    n = import_areas(settings, hotspots)
    _out(f"imported {n} areas from {args.path}")
    return 0


def cmd_backfill(args: argparse.Namespace, config: Settings) -> int:
    return backfill.run(args, config.stack)


def cmd_dispatcher(args: argparse.Namespace, config: Settings) -> int:
    from alerts.dispatch_metrics import start_dispatch_metrics
    from alerts.dispatcher import OutboxDispatcher
    from alerts.providers.settings import build_provider

    settings = config.stack

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        metrics = start_dispatch_metrics(settings)
        dispatcher = OutboxDispatcher(
            settings.db_conninfo,
            lambda sink: build_provider(config.sms, sink),
            config.dispatch,
            metrics=metrics,
        )
        log.info("dispatcher running with provider %s", dispatcher.provider.name)
        await asyncio.gather(dispatcher.run(stop), metrics.watch_outbox(settings.db_conninfo, stop))

    asyncio.run(run())
    return 0


def cmd_simulate(args: argparse.Namespace, config: Settings) -> int:
    from citypulse.topics import CITY_EVENTS
    from sensors.simulator.__main__ import main as simulator_main

    settings = config.stack
    if args.realtime and args.speed not in (None, 1.0):
        raise ProcessError(
            f"--realtime runs at speed 1, not {args.speed:g}; to rehearse a scenario faster "
            f"than real time, run `citypulse drill start {args.scenario} --speed {args.speed:g}`"
        )
    speed = 1.0 if args.realtime else (args.speed if args.speed is not None else 60.0)
    if not args.dry_run:
        refusal = simulate_refusal(args, settings, speed)
        if refusal is not None:
            raise ProcessError(refusal)
    argv = [args.scenario, "--seed", str(args.seed), "--speed", str(speed),
            "--bootstrap", settings.kafka_bootstrap,
            "--topic", CITY_EVENTS.name(settings.topic_prefix)]  # fmt: skip
    if args.realtime:
        # Restarted (by `up`, supervisord) with the same seed, a run sends ids of its own.
        argv += ["--run-id", f"rt{int(time.time())}"]
    if args.max_rate is not None:
        argv += ["--max-rate", str(args.max_rate)]
    if args.areas is not None:
        argv += ["--areas", str(args.areas)]
    if args.kinds is not None:
        argv += ["--kinds", args.kinds]
    if args.dry_run:
        argv += ["--dry-run"]
    if args.duration_min is not None:
        argv += ["--minutes", str(args.duration_min)]
    elif args.realtime:
        argv += ["--minutes", str(7 * 24 * 60)]  # a week of live city for `up`
    return simulator_main(argv)


def simulate_refusal(args: argparse.Namespace, settings: StackSettings, speed: float) -> str | None:
    """Why the worker of `settings` would dead-letter this run, or None. A run faster than
    real time outruns the worker's future limit; one with a seed it has already seen
    repeats its event ids. Both are what `citypulse drill start` is for."""
    from sensors.simulator.scenarios import SCENARIOS
    from streams.batch import ValidationPolicy

    if args.scenario not in SCENARIOS:
        return f"unknown scenario {args.scenario!r}; known: {', '.join(sorted(SCENARIOS))}"
    hint = f"run `citypulse drill start {args.scenario} --speed {speed:g} --seed {args.seed}`"
    if args.duration_min is not None:
        minutes = args.duration_min
    elif args.realtime:
        minutes = 7 * 24 * 60.0
    else:
        minutes = SCENARIOS[args.scenario]().suggested_duration.total_seconds() / 60
    limit_s = ValidationPolicy().max_future.total_seconds()
    ahead_s = minutes * 60 * (1 - 1 / speed) if speed > 1 else 0.0
    if ahead_s > limit_s:
        return (
            f"at {speed:g}x, {minutes:g} simulated minutes run {ahead_s / 60:.0f} minutes ahead "
            f"of the clock; the worker dead-letters events more than {limit_s / 60:.0f} minutes "
            f"in the future (future_time). To rehearse at {speed:g}x with a clock of its own, "
            + hint
        )
    if not args.realtime and seed_already_sent(settings, args.scenario, args.seed):
        return (
            f"events of {args.scenario} with seed {args.seed} are already in the database: "
            "the same seed repeats their event ids and the worker dead-letters them as "
            f"duplicate. Choose another --seed, or {hint}"
        )
    return None


def seed_already_sent(settings: StackSettings, scenario: str, seed: int) -> bool:
    """A reading of this scenario and seed stored in the last day (the ids the worker may
    still remember); False when the database cannot be asked."""
    import psycopg

    prefix = f"{scenario}-{seed}-"
    try:
        with psycopg.connect(settings.db_conninfo, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT 1 FROM crowd_readings WHERE event_time > now() - interval '1 day' "
                "AND starts_with(event_id, %s) LIMIT 1",
                (prefix,),
            ).fetchone()
    except psycopg.Error as exc:
        log.warning("could not check earlier runs of %s seed %d: %s", scenario, seed, exc)
        return False
    return row is not None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="citypulse", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="install what is missing and start the whole stack")
    up.add_argument("--no-simulator", action="store_true", help="do not start the simulated city")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop everything `up` started").set_defaults(func=cmd_down)
    sub.add_parser("status", help="exit 0 only when every component is up").set_defaults(
        func=cmd_status
    )
    db = sub.add_parser("db", help="the project's PostgreSQL")
    db.add_argument("db_command", choices=["info", "start", "stop", "migrate", "backup", "restore"])
    db.add_argument(
        "--no-migrate",
        action="store_true",
        help="start: leave the database empty (a cluster to restore a backup into)",
    )
    db_backup.add_arguments(db)
    db.set_defaults(func=cmd_db)
    kafka = sub.add_parser("kafka", help="the project's Kafka broker")
    kafka.add_argument("kafka_command", choices=["install", "start", "stop"])
    kafka.set_defaults(func=cmd_kafka)
    areas = sub.add_parser("areas", help="area registry")
    areas_sub = areas.add_subparsers(dest="areas_command", required=True)
    imp = areas_sub.add_parser("import", help="import the official hotspot files from a folder")
    imp.add_argument("path")
    imp.set_defaults(func=cmd_areas)
    sub.add_parser("dispatcher", help="run the SMS outbox dispatcher").set_defaults(
        func=cmd_dispatcher
    )
    ingest_cmd.add_commands(sub)
    backfill.add_command(sub).set_defaults(func=cmd_backfill)
    calibration_store.add_command(sub)
    sim = sub.add_parser("simulate", help="publish a simulated city to Kafka")
    sim.add_argument("--scenario", default="normal_day")
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--realtime", action="store_true", help="pace events in wall-clock time")
    sim.add_argument("--speed", type=float, default=None, help="simulated seconds per second")
    sim.add_argument("--duration-min", type=float, default=None)
    sim.add_argument("--max-rate", type=float, default=None, help="events per wall second")
    sim.add_argument("--areas", type=int, default=None, help="only the first N hotspots")
    sim.add_argument("--kinds", default=None, help="event kinds to send, comma-separated")
    sim.add_argument("--dry-run", action="store_true", help="simulate without a broker")
    sim.set_defaults(func=cmd_simulate)
    drill.add_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    logging.getLogger("kafka").setLevel(logging.WARNING)
    # httpx logs each request line at INFO: a Kannel sendsms URL carries its password.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if settings.stack.log_format == "json":
            configure_logging("json")
        code: int = args.func(args, settings)
        return code
    except ProcessError as exc:
        sys.stderr.write(f"citypulse: {exc}\n")
        return 2
    except ValueError as exc:  # settings that do not validate
        sys.stderr.write(f"citypulse: invalid configuration: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
