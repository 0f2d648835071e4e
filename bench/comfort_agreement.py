"""How often the calibrated comfort level agrees with Seoul's own label on unseen days.

Loads the hourly citydata_ppltn log (121 areas, KST), calibrates on the earlier days and
scores on the later ones (no label from a scored day is used to fit), against a baseline
of one fixed cutoff set per area. Also reports a rolling figure where the calibration is
refitted each morning on all days before the scored day with the service's own fit
(`streams.calibration.fit_calibration`, the code `citypulse calibrate` and the worker
run, default policy) and scored by the same `score_comfort`.

    .venv/bin/python bench/comfort_agreement.py [--quick] [--train-fraction 0.67]

The last line printed is a JSON object of figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from citypulse.domain.comfort import ComfortLabel  # noqa: E402
from citypulse.domain.korea_time import KST  # noqa: E402
from streams.calibration import (  # noqa: E402
    CalibrationPolicy,
    Labeller,
    fit_calibration,
    score_comfort,
)
from streams.crowd.comfort import (  # noqa: E402
    COMFORT_LABELS,
    ComfortModelConfig,
    LabelledCount,
    fit_comfort_calibration,
    fixed_cutoff_calibration,
)

DEFAULT_LOG = (
    ROOT / ".." / "shared" / "data" / "seoul" / "citydata_hourly_121" / "seoul_population_log.csv"
)


def load_log(path: Path) -> list[LabelledCount]:
    """Rows with a label and a count; the time is PPLTN_TIME (업데이트시간), KST."""
    out: list[LabelledCount] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            label = row["혼잡도"].strip()
            if label not in COMFORT_LABELS or not row["중앙추정인구"]:
                continue
            stamp = row["업데이트시간"] or row["수집시간"][:16]
            at = datetime.strptime(stamp[:16], "%Y-%m-%d %H:%M").replace(tzinfo=KST)
            out.append(LabelledCount(row["지역명"], at, float(row["중앙추정인구"]), label))
    return out


def score(
    model: Labeller, rows: Sequence[LabelledCount]
) -> tuple[int, int, Counter[str], Counter[str]]:
    s = score_comfort(model, rows)  # the service's scoring (held-out scores it stores)
    return s.hits, s.scored, Counter(s.per_label_hits), Counter(s.per_label_rows)


def select_config(train: Sequence[LabelledCount], train_days: Sequence[date]) -> ComfortModelConfig:
    """Pick the model's knobs on an inner split of the training days only (no test labels)."""
    cut = train_days[max(1, round(len(train_days) * 0.67)) - 1]
    inner = [r for r in train if r.at.astimezone(KST).date() <= cut]
    valid = [r for r in train if r.at.astimezone(KST).date() > cut]
    best: tuple[float, ComfortModelConfig] = (-1.0, ComfortModelConfig())
    for radius in (0, 1, 2):
        for half_life in (3.5, 7.0, 14.0, None):  # 14: the service's default
            for min_points in (2, 3):
                config = ComfortModelConfig(radius, half_life, min_points)
                hits, scored, _, _ = score(fit_comfort_calibration(inner, config), valid)
                if scored and hits / scored > best[0]:
                    best = (hits / scored, config)
    return best[1]


class _Replay:
    """The labels each day's own fit gave, scored in one pass (kappa over all days)."""

    def __init__(self, rows: Sequence[LabelledCount], guesses: Sequence[str | None]) -> None:
        self._by = {(r.area, r.at, r.people): g for r, g in zip(rows, guesses, strict=True)}

    def label(self, area: str, people: float, at: datetime) -> ComfortLabel | None:
        guess = self._by.get((area, at, people))
        return guess if guess in COMFORT_LABELS else None


def pct(a: int, b: int) -> float:
    return round(100.0 * a / b, 2) if b else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--train-fraction", type=float, default=0.67)
    parser.add_argument("--quick", action="store_true", help="skip the rolling evaluation")
    args = parser.parse_args()

    rows = load_log(args.log)
    days: list[date] = sorted({r.at.astimezone(KST).date() for r in rows})
    n_train = max(1, round(len(days) * args.train_fraction))
    train_days, test_days = set(days[:n_train]), days[n_train:]
    train = [r for r in rows if r.at.astimezone(KST).date() in train_days]
    test = [r for r in rows if r.at.astimezone(KST).date() not in train_days]
    print(f"rows {len(rows)}, days {len(days)}: train {days[0]}..{days[n_train - 1]}", end="")
    print(f" ({len(train)} rows), test {test_days[0]}..{test_days[-1]} ({len(test)} rows)")

    config = select_config(train, sorted(train_days))
    print(f"selected on the last third of the training days: {config}")
    model = fit_comfort_calibration(train, config)
    baseline = fixed_cutoff_calibration(train)
    hits, scored, per_hit, per_all = score(model, test)
    b_hits, b_scored, b_per_hit, _ = score(baseline, test)

    print(f"{'label':<10}{'rows':>7}{'calibrated %':>14}{'fixed %':>10}")
    for label in COMFORT_LABELS:
        n = per_all[label]
        print(f"{label:<10}{n:>7}{pct(per_hit[label], n):>14}{pct(b_per_hit[label], n):>10}")
    print(f"{'all':<10}{scored:>7}{pct(hits, scored):>14}{pct(b_hits, b_scored):>10}")

    figures: dict[str, float | int] = {
        "agreement_pct": pct(hits, scored),
        "baseline_agreement_pct": pct(b_hits, b_scored),
        "train_days": len(train_days),
        "test_days": len(test_days),
        "test_rows": scored,
    }
    for label, key in zip(
        COMFORT_LABELS, ("yeoyu", "botong", "yakgan_bumbim", "bumbim"), strict=True
    ):
        figures[f"agreement_{key}_pct"] = pct(per_hit[label], per_all[label])

    if not args.quick:
        # Refit before each test day on every earlier day, as the worker's daily refit does:
        # the service's fit and policy (uncalibrated areas are not scored), not the grid's.
        scored_rows: list[LabelledCount] = []
        guesses: list[str | None] = []
        for day in test_days:
            seen = [r for r in rows if r.at.astimezone(KST).date() < day]
            todays = [r for r in rows if r.at.astimezone(KST).date() == day]
            morning = datetime.combine(day, datetime.min.time(), KST)
            cal = fit_calibration(seen, morning, CalibrationPolicy())
            scored_rows += todays
            guesses += [cal.label(r.area, r.people, r.at) for r in todays]
        rolling = score_comfort(_Replay(scored_rows, guesses), scored_rows)
        agreement = rolling.agreement or 0.0
        print(f"rolling daily refit (service fit): {100 * agreement:.2f} % of {rolling.scored}"
              f" rows, kappa {rolling.kappa}")  # fmt: skip
        figures["rolling_agreement_pct"] = round(100 * agreement, 2)
        figures["rolling_kappa"] = round(rolling.kappa or 0.0, 4)
        figures["rolling_rows"] = rolling.scored

    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
