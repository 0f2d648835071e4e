"""CPU cost of the worker's state tick: every area and zone state of a busy city, built
and serialised as the worker publishes them (no Kafka, no database).

The city of `bench/live_load.py` (every hotspot: a telecom estimate and two zone counts)
is run through `--minutes` of event time at one reading per key every 10 s, so each
tracker's trend history and forecast scoring are full; then `--ticks` ticks each fold one
reading per key and build and serialise all 360 states, as the 0.5 s tick does at 5,000
events/s. Prints ms per tick and µs per state (wall time, min of `--repeat` runs).

    python bench/state_tick.py [--minutes 20] [--ticks 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live_load import LiveLoad  # noqa: E402
from sensors.events import CityEvent, decode_event  # noqa: E402
from sensors.registry import hotspots_by_code  # noqa: E402
from streams.live import LiveStates  # noqa: E402

T0 = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0, help="event time before timing")
    ap.add_argument("--ticks", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    load = LiveLoad()
    readings = [decode_event(load.make()[1]) for _ in range(len(load.templates))]
    live = LiveStates(hotspots_by_code())

    def at(t: datetime) -> list[CityEvent]:
        return [e.model_copy(update={"event_time": t, "ingest_time": t}) for e in readings]

    live.apply(at(T0))
    keys = sorted(live.keys(), key=lambda k: (k[0], k[1] or ""))
    now = T0
    while now < T0 + timedelta(minutes=args.minutes):
        live.apply(at(now))
        for area, zone in keys:
            live.state(area, zone, now)
        now += timedelta(seconds=10)
    best = float("inf")
    for _ in range(args.repeat):
        spent = 0.0
        for _ in range(args.ticks):
            now += timedelta(seconds=0.5)
            batch = at(now)  # built outside the timing: the tick gets readings, not events
            began = time.perf_counter()
            live.apply(batch)
            for area, zone in keys:
                state = live.state(area, zone, now)
                if state is not None:
                    state.model_dump_json()
            spent += time.perf_counter() - began
        best = min(best, spent / args.ticks)
    result = {"states_per_tick": len(keys), "ms_per_tick": round(best * 1000, 1),
              "us_per_state": round(best / len(keys) * 1e6)}  # fmt: skip
    ms, us = result["ms_per_tick"], result["us_per_state"]
    print(f"{len(keys)} states: {ms} ms a tick, {us} µs a state")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
