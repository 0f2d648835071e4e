"""CPU cost per area state of the worker's state tick and of the alert agent that reads it.

At 20,000 events/s most of the worker's time is not per event but per state: every tick
(`state_publish_s`, 0.5 s) rebuilds the state of each area and zone that changed (360 for
the bench city), sends it to the area-state topic, and the alert agent reads it back and
runs it through the alert path (py-spy, docs/benchmarks.md "Per-state cost"). This bench
runs that path without Kafka or a database, through the same objects the worker builds:
- the tick: `StatePipeline.publish_states` over `LiveStates`, events folded by the
  `BatchProcessor` as the worker folds them;
- the wire: `AreaState.model_dump_json` as `KafkaOutlet.send_states` sends a state and
  `AreaState.model_validate_json` as the alert agent reads it (alerts/agents.py);
- the alerts: `build_alert_path(AlertSettings(), areas).on_state`, the construction
  AlertService runs (a calm city: every decision is NoChange, as in bench/ingest.py).

The city is bench/live_load.py's: every hotspot's telecom estimate and two zone counts,
one event per source per tick with a slowly moving count. It first runs `--warm-ticks`
30 s apart in event time, so each area's 30-minute history is full as in a worker that
has run for a while, then times `--ticks` ticks 0.5 s apart. Prints CPU µs per state
for each part (process time, min of `--repeat` runs); `--instructions` counts four
ticks with callgrind, the machine-independent figure (as bench/batch_cpu.py; minutes).

    python bench/state_cpu.py [--ticks 40] [--instructions]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.pipeline import AlertPath, build_alert_path  # noqa: E402
from alerts.rules import AreaInfo  # noqa: E402
from alerts.settings import AlertSettings  # noqa: E402
from bench import callgrind  # noqa: E402
from bench.live_load import ZONE_M2, ZONES_PER_AREA  # noqa: E402
from citypulse.domain.area_state import AreaState  # noqa: E402
from sensors.registry import hotspots_by_code  # noqa: E402
from streams.batch import BatchProcessor, DeadLetter, RawRecord  # noqa: E402
from streams.live import LiveStates  # noqa: E402
from streams.pipeline import StatePipeline  # noqa: E402

T0 = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
TICK_S = 0.5  # WorkerSettings.state_publish_s
WARM_TICK_S = 30.0  # one trend slot a tick (streams/crowd/tracker.py HISTORY_SPACING_S)


class City:
    """One event per source per tick: bench/live_load.py's sources and calm counts, with a
    slow swing so that every key changes every tick, as under a steady load."""

    def __init__(self) -> None:
        self.hotspots = hotspots_by_code()
        self.seq = 0

    def records(self, at: datetime, tick: int) -> list[RawRecord]:
        stamp = at.isoformat()
        swing = 1.0 + 0.1 * math.sin(tick / 7.0)
        out = []
        for i, (code, spot) in enumerate(sorted(self.hotspots.items())):
            people = int(spot.walkable_m2 * 0.4 * swing)  # calm, as LiveLoad
            # As the project's producers write them: encode_event's key order, the kind
            # first (the fast door's decoding cost depends on it: bench/batch_cpu.py).
            bodies = [
                (
                    "population_estimate",
                    f'"area_code":"{code}","people_min":{people},"people_max":{people + 100}}}',
                )
            ]
            bodies += [
                ("zone_count",
                 f'"area_code":"{code}","zone_id":"Z{z}","counter_id":"c{z}",'
                 f'"count":{int(200 * swing)},"walkable_m2":{ZONE_M2}}}')
                for z in range(1, ZONES_PER_AREA + 1)
            ]  # fmt: skip
            for kind, body in bodies:
                self.seq += 1
                head = f'{{"kind":"{kind}","v":1,"event_id":"s{self.seq}","source":"bench",'
                times = f'"event_time":"{stamp}","ingest_time":"{stamp}",'
                value = (head + times + body).encode()
                out.append(RawRecord("city-events", i % 8, self.seq, code.encode(), value))
        return out


class WireAndAlerts:
    """The state tick's outlet: each state as the producer sends it, read back as the alert
    agent reads it, through the alert path. Time in each part is summed."""

    def __init__(self, path: AlertPath, clock: Callable[[], datetime]) -> None:
        self.path = path
        self.clock = clock
        self.states = 0
        self.wire_s = 0.0
        self.alerts_s = 0.0

    async def send_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        if dead:
            raise RuntimeError(f"the bench city sent bad events: {dead[0].reason}")

    async def send_states(self, states: Sequence[AreaState]) -> None:
        began = time.process_time()
        read = [AreaState.model_validate_json(s.model_dump_json().encode()) for s in states]
        wired = time.process_time()
        now = self.clock()
        for state in read:
            self.path.on_state(state, now)
        self.wire_s += wired - began
        self.alerts_s += time.process_time() - wired
        self.states += len(states)


@dataclass(frozen=True)
class Run:
    states: int
    tick_s: float  # state building, the outlet excluded
    wire_s: float
    alerts_s: float


def run_once(warm_ticks: int, ticks: int) -> Run:
    city = City()
    hotspots = city.hotspots
    areas = {h.code: AreaInfo(h.code, h.name_ko, h.name_en, h.district, h.category)
             for h in hotspots.values()}  # fmt: skip
    now = [T0]
    path = build_alert_path(AlertSettings(), areas)
    path.start([], T0)
    outlet = WireAndAlerts(path, lambda: now[0])
    pipeline = StatePipeline(
        BatchProcessor(hotspots), LiveStates(hotspots), outlet, writer=None,  # type: ignore[arg-type]
        read_offsets=dict, refresh_every_s=4.5, clock=lambda: now[0],
        monotonic=lambda: (now[0] - T0).total_seconds(),
    )  # fmt: skip

    async def go() -> Run:
        spent = 0.0
        for tick in range(warm_ticks + ticks):
            warm = tick < warm_ticks
            seconds = WARM_TICK_S * min(tick, warm_ticks) + TICK_S * max(tick - warm_ticks, 0)
            now[0] = T0 + timedelta(seconds=seconds)
            await pipeline.prepare_batch(city.records(now[0], tick))
            if tick == warm_ticks:
                outlet.states, outlet.wire_s, outlet.alerts_s = 0, 0.0, 0.0
            began = time.process_time()
            await pipeline.publish_states()
            if not warm:
                spent += time.process_time() - began
        return Run(outlet.states, spent - outlet.wire_s - outlet.alerts_s, outlet.wire_s,
                   outlet.alerts_s)  # fmt: skip

    return asyncio.run(go())


def instructions(*args: str) -> int:
    """Instructions callgrind counts for a whole run of this script."""
    return callgrind.instructions(__file__, "--repeat", "1", "--json-only", *args)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm-ticks", type=int, default=70)
    ap.add_argument("--ticks", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--instructions", action="store_true", help="count with valgrind too")
    ap.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    gc.set_threshold(50_000, 20, 20)  # as the worker (streams/worker.py)
    runs = [run_once(args.warm_ticks, args.ticks) for _ in range(args.repeat)]
    n = runs[0].states

    def best(part: Callable[[Run], float]) -> float:
        return round(min(map(part, runs)) / n * 1e6, 1)

    summary: dict[str, object] = {
        "states": n,
        "tick_cpu_us_per_state": best(lambda r: r.tick_s),
        "wire_cpu_us_per_state": best(lambda r: r.wire_s),
        "alerts_cpu_us_per_state": best(lambda r: r.alerts_s),
        "cpu_us_per_state": best(lambda r: r.tick_s + r.wire_s + r.alerts_s),
    }
    if args.instructions:
        # Under valgrind a tick takes seconds: 32 warm ticks fill the trend's 15-minute
        # window (the 30-minute history is not read whole), then 4 more ticks are counted.
        # Their events' fold is in the count too (360 events a tick, beside 360 states;
        # bench/batch_cpu.py counts it alone: about 30,000 instructions an event).
        counts = [instructions("--warm-ticks", "32", "--ticks", str(t)) for t in (4, 8)]
        summary["instructions_per_state"] = round((counts[1] - counts[0]) / (4 * n / args.ticks))
    if not args.json_only:
        print(f"state tick + wire + alerts: {summary['cpu_us_per_state']} CPU µs/state "
              f"(best of {args.repeat}, {n:,} states)")  # fmt: skip
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
