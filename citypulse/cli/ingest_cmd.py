"""`citypulse replay` and `citypulse ingest`: recorded and file sources into Kafka.

Each adapter reads a file into events plus rejects; rejects are reported with their
location and the rest is published, so one bad row never stops a file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from citypulse.config import StackSettings
from citypulse.settings import Settings
from citypulse.topics import CITY_EVENTS
from sensors.adapters.reject import Reject
from sensors.events import CityEvent
from sensors.publisher import KafkaEventPublisher

log = logging.getLogger("citypulse.ingest")


def _report(rejects: Iterable[Reject]) -> int:
    n = 0
    for r in rejects:
        n += 1
        if n <= 50:  # enough to act on; the count says the rest
            log.warning("rejected %s:%s %s: %s", r.source_file, r.record, r.field, r.reason)
    return n


def _publisher(settings: StackSettings) -> KafkaEventPublisher:
    return KafkaEventPublisher(settings.kafka_bootstrap, CITY_EVENTS.name(settings.topic_prefix))


def shift_to_now(events: list[CityEvent], now: datetime) -> list[CityEvent]:
    """Move a recording so its last event is `now`, keeping every gap between events."""
    if not events:
        return events
    delta = now - events[-1].event_time
    return [
        e.model_copy(update={"event_time": e.event_time + delta, "ingest_time": now})
        for e in events
    ]


def cmd_replay(args: argparse.Namespace, config: Settings) -> int:
    from sensors.replay import load_recorded_logs, parse_speed, replay

    settings = config.stack
    path = Path(args.path)
    if path.suffix == ".json":
        places = path.with_name("places.csv")
        events, rejects = load_recorded_logs(
            five_min_json=path, places_csv=places if places.exists() else None
        )
    else:
        events, rejects = load_recorded_logs(hourly_csv=path)
    bad = _report(rejects)
    if args.time_mode == "shift":
        # The worker refuses events older than its max age; a shifted replay plays the
        # recording as if it were happening now.
        events = shift_to_now(events, datetime.now(UTC))
    pub = _publisher(settings)
    sent = replay(events, pub, speed=parse_speed(args.speed), max_gap_s=args.max_gap_s)
    pub.close()
    sys.stdout.write(f"replayed {sent} events from {path} ({bad} rejected)\n")
    return 0


def cmd_ingest(args: argparse.Namespace, config: Settings) -> int:
    from sensors.adapters import (
        assign_areas,
        iter_citydata_json,
        iter_citydata_xml,
        iter_crowd_flow,
        iter_sdot_csv,
        read_sensor_positions,
    )
    from sensors.registry import load_hotspots

    settings = config.stack
    path = Path(args.path)
    items: Iterable[CityEvent | Reject]
    if args.kind == "citydata-xml":
        items = iter_citydata_xml(path.read_text(encoding="utf-8"), source_file=str(path))
    elif args.kind == "citydata-json":
        items = iter_citydata_json(path.read_text(encoding="utf-8"), source_file=str(path))
    elif args.kind == "sdot":
        if args.positions is None:
            sys.stderr.write("citypulse: --positions is required for S-DoT files\n")
            return 2
        positions = read_sensor_positions(Path(args.positions).read_text(encoding="utf-8-sig"))
        areas = assign_areas(positions, load_hotspots())
        items = iter_sdot_csv(path.read_bytes(), positions, areas, source_file=str(path))
    else:
        from sensors.registry import RegistryError, read_zones_csv

        try:
            zones = (
                read_zones_csv(Path(args.zones).read_text("utf-8-sig").splitlines())
                if args.zones
                else {}
            )
        except (OSError, RegistryError) as exc:
            sys.stderr.write(f"citypulse: --zones {args.zones}: {exc}\n")
            return 2
        items = iter_crowd_flow(
            path.read_text(encoding="utf-8"), zones=zones, hotspots=load_hotspots(),
            source_file=str(path),
        )  # fmt: skip
    pub = _publisher(settings)
    rejects: list[Reject] = []
    sent = 0
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            pub.publish(item)
            sent += 1
    pub.close()
    bad = _report(rejects)
    sys.stdout.write(f"published {sent} events from {path} ({bad} rejected)\n")
    return 0


def cmd_poll(args: argparse.Namespace, config: Settings) -> int:
    import httpx

    from sensors.poller import CitydataPoller, run_poller
    from sensors.registry import load_hotspots

    settings = config.stack
    poll_settings = config.poller
    if not poll_settings.api_key.get_secret_value():
        sys.stderr.write("citypulse: set CITYPULSE_SEOUL_API_KEY to your data.seoul.go.kr key\n")
        return 2
    names = [h.name_ko for h in load_hotspots()]
    pub = _publisher(settings)
    with httpx.Client(timeout=poll_settings.timeout_s) as client:
        sent = run_poller(CitydataPoller(poll_settings, client), names, pub, rounds=args.rounds)
    pub.close()
    sys.stdout.write(f"published {sent} population estimates\n")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rp = sub.add_parser("replay", help="replay a recorded Seoul log into Kafka in event-time order")
    rp.add_argument("path", help="hourly log CSV (121 areas) or 5-minute ppldata.json (113 areas)")
    rp.add_argument("--speed", default="60x", help="e.g. 60x, 1x or max")
    rp.add_argument("--max-gap-s", type=float, default=None, help="cap a silent gap, in seconds")
    rp.add_argument(
        "--time-mode", choices=["shift", "recorded"], default="shift",
        help="shift: play as if it happened now (default); recorded: keep the recorded times",
    )  # fmt: skip
    rp.set_defaults(func=cmd_replay)
    ing = sub.add_parser("ingest", help="publish a file of a city source into Kafka")
    ing.add_argument("kind", choices=["citydata-xml", "citydata-json", "sdot", "fiware"])
    ing.add_argument("path")
    ing.add_argument("--positions", help="S-DoT sensor_longitude_latitude.csv")
    ing.add_argument("--zones", help="FIWARE: zone_id,area_code,walkable_m2 CSV (zone registry)")
    ing.set_defaults(func=cmd_ingest)
    poll = sub.add_parser("poll", help="poll Seoul's live citydata_ppltn API into Kafka")
    poll.add_argument("--rounds", type=int, default=None, help="stop after N rounds")
    poll.set_defaults(func=cmd_poll)
