"""How often the above-normal rule's raise condition holds on ordinary recorded days.

Replays the hourly 121-area log (KST) day by day: before each day the calibration is
refitted on every earlier day with the service's own fit (`streams.calibration.
fit_calibration`, as `citypulse calibrate` and the worker's daily refit do), and each
reading of the day is put through the worker's `with_calibration` and the rule's own
`above_normal_conditions` with the default settings. Nothing is injected: every reading
that meets a level's raise condition would be a false alarm if it were held.

This is not issue 14's bench/alert_quality.py: the hourly log has one sample an hour, so
the rule's 600 s hold (and the engine's 630 s continuity limit) never completes on it;
the figure is the raise condition's rate, an upper bound on held alerts.

    .venv/bin/python bench/above_normal_quiet.py [--log PATH] [--warmup-days 7]

The last line printed is a JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.rules.above_normal import AboveNormalRule, above_normal_conditions  # noqa: E402
from bench.comfort_agreement import DEFAULT_LOG, load_log  # noqa: E402
from citypulse.domain.area_state import AreaState  # noqa: E402
from citypulse.domain.korea_time import KST  # noqa: E402
from streams.calibration import CalibrationPolicy, fit_calibration, with_calibration  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--warmup-days", type=int, default=7)
    args = parser.parse_args()

    rows = load_log(args.log)
    days = sorted({r.at.astimezone(KST).date() for r in rows})
    rule = AboveNormalRule()
    raised: Counter[str] = Counter()
    area_days, scored, no_normal = 0, 0, 0
    for day in days[args.warmup_days :]:
        seen = [r for r in rows if r.at.astimezone(KST).date() < day]
        todays = [r for r in rows if r.at.astimezone(KST).date() == day]
        cal = fit_calibration(seen, datetime.combine(day, datetime.min.time(), KST),
                              CalibrationPolicy())  # fmt: skip
        area_days += len({r.area for r in todays if r.area in cal.calibrated})
        for r in todays:
            base = AreaState(scope="area", area_code=r.area, as_of=r.at, people=r.people,
                             walkable_m2=1.0, density_per_m2=0.0, stage="normal",
                             stage_ko="정상")  # fmt: skip
            state = with_calibration(base, cal, r.at)
            if state.normal_ratio is None:
                no_normal += 1
                continue
            scored += 1
            cond = above_normal_conditions(rule, state, rule.levels)
            for level, hit in cond.raise_.items():
                if hit:
                    raised[level.wire_name] += 1
    figures = {
        "scored_days": len(days) - args.warmup_days,
        "area_days": area_days,
        "readings": scored,
        "readings_without_normal": no_normal,
        **{f"raise_{k}_readings": raised[k] for k in ("caution", "alert", "serious")},
        **{
            f"raise_{k}_per_area_day": round(raised[k] / area_days, 4) if area_days else None
            for k in ("caution", "alert", "serious")
        },
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
