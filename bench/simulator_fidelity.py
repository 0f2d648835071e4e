"""How closely the simulated telecom estimates follow Seoul's recorded hourly log.

For the ten busiest areas of citydata_hourly_121, fit the calibration on the first two
thirds of the recorded days, simulate the remaining days and compare with what Seoul
recorded: Pearson r of hourly means by hour of day, and of the recorded sequence against
the simulated estimate at the same instants. `--full` also scores a fit on every day.

    python bench/simulator_fidelity.py [--quick] [--full] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sensors.events import PopulationEstimate  # noqa: E402
from sensors.registry import load_hotspots  # noqa: E402
from sensors.simulator.api import simulate  # noqa: E402
from sensors.simulator.calibration import (  # noqa: E402
    HOURLY_LOG,
    Observation,
    name_index,
    read_hourly_log,
    recalibrate,
)
from sensors.simulator.engine import City, default_city  # noqa: E402
from sensors.simulator.profile import KST, CityCalibration  # noqa: E402
from sensors.simulator.scenarios import normal_day  # noqa: E402
from sensors.simulator.zones import default_zones  # noqa: E402

DATA = ROOT / ".." / "shared" / "data" / "seoul"


def pearson_r(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.corrcoef(np.asarray(a, float), np.asarray(b, float))[0, 1])


def simulated_people(
    calibration: CityCalibration, areas: list[str], first: date, last: date, seed: int
) -> dict[str, dict[datetime, float]]:
    base = default_city()
    city = City(
        base.hotspots, calibration, tuple(default_zones(base.hotspots, calibration)), base.sensors
    )
    scenario = normal_day().only(frozenset(areas), frozenset({"population_estimate"}))
    start = datetime.combine(first, datetime.min.time(), KST)
    duration = timedelta(days=(last - first).days + 1)
    out: dict[str, dict[datetime, float]] = defaultdict(dict)
    for e in simulate(scenario, start, duration, seed, city):
        if isinstance(e, PopulationEstimate):
            out[e.area_code][e.event_time] = e.people
    return out


def score(
    recorded: dict[str, list[Observation]], sim: dict[str, dict[datetime, float]], area: str
) -> tuple[float, float, int]:
    """(r by hour of day, r over the recorded sequence, number of recorded points)."""
    obs = recorded[area]
    rec_by_hour: dict[int, list[float]] = defaultdict(list)
    for o in obs:
        rec_by_hour[o.time.hour].append(o.people)
    sim_by_hour: dict[int, list[float]] = defaultdict(list)
    for when, people in sim[area].items():
        sim_by_hour[when.hour].append(people)
    hours = sorted(rec_by_hour)
    r_hour = pearson_r(
        [statistics.mean(rec_by_hour[h]) for h in hours],
        [statistics.mean(sim_by_hour[h]) for h in hours],
    )
    at = []
    for o in obs:
        slot = o.time.replace(minute=o.time.minute - o.time.minute % 5, second=0)
        at.append(sim[area][slot])
    r_seq = pearson_r([o.people for o in obs], at)
    return r_hour, r_seq, len(obs)


def run(
    label: str,
    calibration: CityCalibration,
    recorded: dict[str, list[Observation]],
    areas: list[str],
    seed: int,
) -> dict[str, float]:
    days = sorted({o.time.date() for a in areas for o in recorded[a]})
    sim = simulated_people(calibration, areas, days[0], days[-1], seed)
    names = {h.code: h.name_ko for h in load_hotspots()}
    print(f"\n{label}: {days[0]} .. {days[-1]} ({len(days)} days)")
    print(f"{'area':8} {'name':22} {'points':>6} {'r_hour_of_day':>13} {'r_sequence':>10}")
    rows = []
    for a in areas:
        r_hour, r_seq, n = score(recorded, sim, a)
        rows.append((r_hour, r_seq))
        print(f"{a:8} {names[a]:22} {n:6d} {r_hour:13.3f} {r_seq:10.3f}")
    return {
        "pearson_r_min": min(min(r) for r in rows),
        "pearson_r_mean": statistics.mean(v for r in rows for v in r),
        "pearson_r_hour_min": min(r[0] for r in rows),
        "pearson_r_sequence_min": min(r[1] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="held-out split only")
    parser.add_argument("--full", action="store_true", help="also fit and score on every day")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not (DATA / HOURLY_LOG).exists():
        print(f"no data at {DATA / HOURLY_LOG}", file=sys.stderr)
        return 2
    hotspots = load_hotspots()
    recorded = read_hourly_log(DATA / HOURLY_LOG, name_index(hotspots))
    busiest = sorted(recorded, key=lambda a: -statistics.mean(o.people for o in recorded[a]))
    areas = busiest[:10]
    days = sorted({o.time.date() for obs in recorded.values() for o in obs})
    cut = days[round(len(days) * 2 / 3)]
    held_out = {a: [o for o in recorded[a] if o.time.date() >= cut] for a in areas}
    fit = recalibrate(DATA, train_before=cut, hotspots=hotspots)
    result: dict[str, object] = {"areas": areas, "train_before": cut.isoformat()}
    held = run(f"fit before {cut}, scored on the rest", fit, held_out, areas, args.seed)
    result.update(held)
    if args.full and not args.quick:
        everything = recalibrate(DATA, hotspots=hotspots)
        full = run("fit and scored on every day", everything, recorded, areas, args.seed)
        result["in_sample"] = full
    print(f"\nheld-out: min r {held['pearson_r_min']:.3f}, mean r {held['pearson_r_mean']:.3f}")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
