"""`python -m sensors.simulator`: run a scenario into Kafka (or log it with --dry-run)."""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from citypulse.domain.korea_time import KST
from citypulse.topics import CITY_EVENTS
from sensors.publisher import EventSink, KafkaEventPublisher, ListSink
from sensors.registry import load_hotspots
from sensors.simulator.api import simulate
from sensors.simulator.records import EmissionKind
from sensors.simulator.runner import run_paced
from sensors.simulator.scenarios import ALL_KINDS, SCENARIOS

log = logging.getLogger("sensors.simulator")


def _start(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=KST)


def _kinds(text: str) -> frozenset[EmissionKind]:
    kinds = {k.strip() for k in text.split(",") if k.strip()}
    unknown = kinds - ALL_KINDS
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kinds {sorted(unknown)}")
    return frozenset(k for k in ALL_KINDS if k in kinds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sensors.simulator")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--start", type=_start, default=datetime.now(KST))
    parser.add_argument("--minutes", type=float, default=None, help="default: scenario's own")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed", type=float, default=60.0, help="simulated s per wall s; 0: max")
    parser.add_argument("--max-rate", type=float, default=None, help="events per wall second")
    parser.add_argument(
        "--bootstrap", default=os.environ.get("CITYPULSE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument(
        "--topic", default=CITY_EVENTS.name(os.environ.get("CITYPULSE_TOPIC_PREFIX", "citypulse"))
    )
    parser.add_argument(
        "--areas", type=int, default=None, help="only the first N hotspots of the registry"
    )
    known = ", ".join(sorted(ALL_KINDS))
    parser.add_argument("--kinds", type=_kinds, default=None, help=f"comma-separated, of {known}")
    parser.add_argument("--dry-run", action="store_true", help="simulate without a broker")
    parser.add_argument("--run-id", default="", help="prefix of every event id (a drill's run)")
    parser.add_argument(
        "--wall-start", type=float, default=None,
        help="epoch seconds at which --start is sent (a drill's clock); default: at once",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    scenario = SCENARIOS[args.scenario]()
    if args.areas is not None:
        codes = frozenset(h.code for h in load_hotspots()[: args.areas])
        scenario = scenario.only(area_codes=codes)
    if args.kinds is not None:
        scenario = scenario.only(kinds=args.kinds)
    duration = (
        timedelta(minutes=args.minutes) if args.minutes is not None else scenario.suggested_duration
    )
    sink: EventSink = (
        ListSink() if args.dry_run else KafkaEventPublisher(args.bootstrap, args.topic)
    )
    if args.wall_start is not None:
        time.sleep(max(0.0, args.wall_start - time.time()))
    report = run_paced(
        simulate(scenario, args.start, duration, args.seed, run_id=args.run_id),
        sink,
        start=args.start,
        speed=args.speed or None,
        max_rate=args.max_rate,
    )
    if isinstance(sink, KafkaEventPublisher):
        sink.close()
    log.info(
        "done: %d events, %d malformed in %.1f s", report.events, report.malformed, report.wall_s
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
