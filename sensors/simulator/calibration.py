"""Fit the simulator's per-area profiles from Seoul's recorded population logs.

Reads the raw files directly (the hourly citydata_ppltn log of 121 areas and the 5-minute
2023 poll of 113 areas) so the simulator depends on nothing but the registry. The result
is a small JSON shipped in the package; `python -m sensors.simulator.calibration` rewrites it.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from citypulse.domain.korea_time import KST
from sensors.registry import Hotspot, load_hotspots
from sensors.simulator.profile import (
    COMFORT_LABELS,
    HOURS,
    AreaProfile,
    CityCalibration,
    day_type,
    mean_shape,
)

log = logging.getLogger(__name__)

HOURLY_LOG = Path("citydata_hourly_121") / "seoul_population_log.csv"
FIVE_MIN_LOG = Path("population_5min_113") / "ppldata.json"

# Names the logs spell differently from today's registry (renamed or merged hotspots).
ALIASES: dict[str, str] = {
    "잠실롯데타워·석촌호수": "잠실롯데타워 일대",
    "홍대입구역 9번 출구": "홍대입구역(2호선)",
    "인사동·익선동": "인사동",
}
BANDWIDTH_H = 0.75  # kernel width over the hour of day: the log samples 6-8 hours a day
PRIOR_WEIGHT = 0.5  # pseudo-observations of the prior shape, fills hours the log never saw
WEEKEND_PRIOR_WEIGHT = 2.0  # weekends are few: lean on the weekday shape times a ratio
NOISE_BOUNDS = (0.01, 0.35)


@dataclass(frozen=True)
class Observation:
    time: datetime
    people: float
    label: str | None = None


def normalise_name(name: str) -> str:
    """Compare names without spaces, punctuation or case: '잠실 관광특구' == '잠실관광특구'."""
    name = ALIASES.get(name.strip(), name.strip())
    return re.sub(r"[\W_]+", "", name).lower()


def name_index(hotspots: Iterable[Hotspot]) -> dict[str, str]:
    return {normalise_name(h.name_ko): h.code for h in hotspots}


def read_hourly_log(path: Path, codes: Mapping[str, str]) -> dict[str, list[Observation]]:
    """Observations per AREA_CD, timed by PPLTN_TIME (업데이트시간) which the values describe."""
    out: dict[str, list[Observation]] = defaultdict(list)
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            code = codes.get(normalise_name(row.get("API지역명") or row.get("지역명") or ""))
            lo, hi = row.get("최소인구") or "", row.get("최대인구") or ""
            if code is None or not lo or not hi:
                continue
            stamp = row.get("업데이트시간") or row["수집시간"]
            when = datetime.fromisoformat(stamp).replace(tzinfo=KST)
            label = row.get("혼잡도") or None
            out[code].append(Observation(when, (float(lo) + float(hi)) / 2, label))
    return dict(out)


def read_five_minute_log(path: Path, codes: Mapping[str, str]) -> dict[str, list[Observation]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, list[Observation]] = {}
    for name, polls in raw.items():
        code = codes.get(normalise_name(name))
        if code is None:
            continue
        out[code] = [
            Observation(
                datetime.fromisoformat(t).replace(tzinfo=KST),
                (float(p["PPL_MIN"]) + float(p["PPL_MAX"])) / 2,
            )
            for t, p in sorted(polls.items())
        ]
    return out


def _hour_of_day(obs: Sequence[Observation]) -> npt.NDArray[np.float64]:
    return np.array([o.time.hour + o.time.minute / 60 for o in obs], dtype=np.float64)


def kernel_shape(
    hours: npt.NDArray[np.float64],
    ratios: npt.NDArray[np.float64],
    prior: Sequence[float],
    prior_weight: float,
) -> tuple[float, ...]:
    """24 factors at h:30: Gaussian-weighted means over the circular hour, shrunk to `prior`."""
    centres = np.arange(HOURS) + 0.5
    gap = np.abs(hours[None, :] - centres[:, None])
    gap = np.minimum(gap, HOURS - gap)
    weights = np.exp(-0.5 * (gap / BANDWIDTH_H) ** 2)
    num = weights @ ratios + prior_weight * np.asarray(prior)
    den = weights.sum(axis=1) + prior_weight
    return tuple(float(v) for v in num / den)


def five_minute_shape(obs: Sequence[Observation]) -> tuple[float, ...]:
    people = np.array([o.people for o in obs])
    level = float(np.median(people)) or 1.0
    return kernel_shape(_hour_of_day(obs), people / level, (1.0,) * HOURS, 0.01)


def label_cuts(ratios: Sequence[float], labels: Sequence[str | None]) -> tuple[float, float, float]:
    """Cut points on people/level so each label's share of the log is reproduced."""
    known = [
        (r, COMFORT_LABELS.index(lab))
        for r, lab in zip(ratios, labels, strict=True)
        if lab in COMFORT_LABELS
    ]
    if not known:
        return (0.8, 1.2, 1.6)
    values = sorted(r for r, _ in known)
    cuts: list[float] = []
    for k in (1, 2, 3):
        share_below = sum(1 for _, i in known if i < k) / len(known)
        if share_below >= 1.0:
            cut = values[-1] * 1.15
        elif share_below <= 0.0:
            cut = values[0] * 0.9
        else:
            cut = float(np.quantile(values, share_below))
        cuts.append(max(cut, cuts[-1] * 1.05) if cuts else cut)
    return (cuts[0], cuts[1], cuts[2])


def fit_area(
    code: str, hourly: Sequence[Observation], prior: Sequence[float], source: str
) -> AreaProfile:
    people = np.array([o.people for o in hourly])
    level = float(np.median(people))
    ratios = people / level
    hours = _hour_of_day(hourly)
    weekend = np.array([day_type(o.time.date()) == "weekend" for o in hourly])
    # The prior (another year's poll) has its own level: rescale it to this log first.
    at_hours = np.array([prior[int(h)] for h in hours[~weekend]])
    if at_hours.size:
        prior = [f * float(np.median(ratios[~weekend] / at_hours)) for f in prior]
    weekday_shape = kernel_shape(hours[~weekend], ratios[~weekend], prior, PRIOR_WEIGHT)
    if weekend.any():
        expected_wd = np.array([weekday_shape[int(h)] for h in hours[weekend]])
        ratio = float(np.median(ratios[weekend] / expected_wd))
        weekend_prior = [f * ratio for f in weekday_shape]
        weekend_shape = kernel_shape(
            hours[weekend], ratios[weekend], weekend_prior, WEEKEND_PRIOR_WEIGHT
        )
    else:
        weekend_shape = weekday_shape
    profile = AreaProfile(code, level, weekday_shape, weekend_shape, 0.1, (1, 2, 3), source)
    residual = [
        math.log(o.people / profile.expected_people(o.time)) for o in hourly if o.people > 0
    ]
    noise = min(max(statistics.pstdev(residual), NOISE_BOUNDS[0]), NOISE_BOUNDS[1])
    cuts = label_cuts(list(ratios), [o.label for o in hourly])
    return AreaProfile(code, level, weekday_shape, weekend_shape, noise, cuts, source)


def fit_calibration(
    hotspots: Sequence[Hotspot],
    hourly: Mapping[str, Sequence[Observation]],
    five_minute: Mapping[str, Sequence[Observation]],
    train_before: date | None = None,
) -> CityCalibration:
    """Profiles for every hotspot; areas without history get their category's prior."""
    profiles: dict[str, AreaProfile] = {}
    for h in hotspots:
        obs = [
            o
            for o in hourly.get(h.code, ())
            if train_before is None or o.time.date() < train_before
        ]
        if len(obs) < 12:
            continue
        prior: Sequence[float] = (1.0,) * HOURS
        source = "hourly_log"
        if len(five_minute.get(h.code, ())) >= 48:
            prior, source = five_minute_shape(five_minute[h.code]), "hourly_log+5min"
        profiles[h.code] = fit_area(h.code, obs, prior, source)
    by_category: dict[str, list[tuple[Hotspot, AreaProfile]]] = defaultdict(list)
    for h in hotspots:
        if h.code in profiles:
            by_category[h.category].append((h, profiles[h.code]))
    everyone = [pair for pairs in by_category.values() for pair in pairs]
    for h in hotspots:
        if h.code not in profiles:
            profiles[h.code] = category_prior(h, by_category.get(h.category) or everyone)
    days = sorted({o.time.date() for obs in hourly.values() for o in obs})
    fitted_on = {
        "hourly_log": str(HOURLY_LOG),
        "five_minute_log": str(FIVE_MIN_LOG),
        "first_day": days[0].isoformat() if days else None,
        "train_before": (train_before or (days[-1] if days else date.min)).isoformat(),
        "areas_with_history": sum(p.source != "category_prior" for p in profiles.values()),
    }
    return CityCalibration(profiles=profiles, fitted_on=fitted_on)


def category_prior(h: Hotspot, peers: Sequence[tuple[Hotspot, AreaProfile]]) -> AreaProfile:
    """Mean shape of the category; level scaled to this area's walkable surface."""
    density = statistics.median(p.level / peer.walkable_m2 for peer, p in peers)
    cuts = [statistics.median(p.label_cuts[i] for _, p in peers) for i in range(3)]
    return AreaProfile(
        code=h.code,
        level=density * h.walkable_m2,
        weekday=mean_shape([p.weekday for _, p in peers]),
        weekend=mean_shape([p.weekend for _, p in peers]),
        noise=statistics.median(p.noise for _, p in peers),
        label_cuts=(cuts[0], cuts[1], cuts[2]),
        source="category_prior",
    )


def recalibrate(
    data_dir: Path, train_before: date | None = None, hotspots: Sequence[Hotspot] | None = None
) -> CityCalibration:
    """Fit from the raw Seoul files under `data_dir` (…/shared/data/seoul)."""
    spots = list(hotspots) if hotspots is not None else load_hotspots()
    codes = name_index(spots)
    hourly = read_hourly_log(data_dir / HOURLY_LOG, codes)
    five = read_five_minute_log(data_dir / FIVE_MIN_LOG, codes)
    return fit_calibration(spots, hourly, five, train_before)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit sensors/simulator/calibration.json")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/seoul"))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("calibration.json"))
    parser.add_argument("--train-before", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    calibration = recalibrate(args.data, args.train_before)
    text = json.dumps(calibration.to_json(), ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    log.info("wrote %s: %d areas, %d bytes", args.out, len(calibration.profiles), len(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
