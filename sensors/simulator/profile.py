"""Fitted per-area crowd profiles: level, daily shape per day type, noise, comfort cut points.

Pure: no file or clock access besides reading the shipped JSON. A profile answers one
question, "how many people does the telecom estimate expect here at this moment?", and
the simulator adds dynamics and noise around that.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from citypulse.domain.comfort import COMFORT_LEVELS
from citypulse.domain.korea_time import KST

HOURS = 24
DayType = Literal["weekday", "weekend"]
COMFORT_LABELS: tuple[str, ...] = COMFORT_LEVELS

# Korean public holidays inside the periods we simulate and calibrate on; they behave
# like weekends (2026-06-03 local elections, 2026-06-06 Memorial Day falls on a Saturday).
HOLIDAYS: frozenset[date] = frozenset({date(2026, 6, 3), date(2026, 8, 15), date(2026, 10, 3)})


def day_type(day: date) -> DayType:
    return "weekend" if day.weekday() >= 5 or day in HOLIDAYS else "weekday"


@dataclass(frozen=True)
class AreaProfile:
    """One area's calibration; `weekday`/`weekend` are 24 factors of `level` at h:30 KST."""

    code: str
    level: float  # median people (midpoint of Seoul's min/max range)
    weekday: tuple[float, ...]
    weekend: tuple[float, ...]
    noise: float  # std of log(recorded / expected), the spread the simulator adds
    label_cuts: tuple[float, float, float]  # people/level where 보통, 약간 붐빔, 붐빔 begin
    source: str  # "hourly_log", "hourly_log+5min", "category_prior"

    def __post_init__(self) -> None:
        if len(self.weekday) != HOURS or len(self.weekend) != HOURS:
            raise ValueError(f"{self.code}: a daily shape needs {HOURS} factors")

    def factor(self, when: datetime) -> float:
        """Daily-shape factor at `when`, linear between hour centres (h:30) so it is smooth."""
        local = when.astimezone(KST)
        pos = local.hour + local.minute / 60 + local.second / 3600 - 0.5
        lo = math.floor(pos)
        frac = pos - lo
        # Interpolate across midnight with the neighbouring day's own day type.
        before = self._shape_at(local, lo)
        after = self._shape_at(local, lo + 1)
        return before * (1 - frac) + after * frac

    def expected_people(self, when: datetime) -> float:
        return self.level * self.factor(when)

    def comfort_label(self, people: float) -> str:
        ratio = people / self.level if self.level > 0 else 0.0
        index = sum(ratio >= cut for cut in self.label_cuts)
        return COMFORT_LABELS[index]

    def _shape_at(self, local: datetime, hour: int) -> float:
        day = local.date() + timedelta(days=hour // HOURS)
        shape = self.weekend if day_type(day) == "weekend" else self.weekday
        return shape[hour % HOURS]

    def to_json(self) -> dict[str, Any]:
        return {
            "level": round(self.level, 1),
            "noise": round(self.noise, 4),
            "weekday": [round(f, 3) for f in self.weekday],
            "weekend": [round(f, 3) for f in self.weekend],
            "label_cuts": [round(c, 3) for c in self.label_cuts],
            "source": self.source,
        }

    @classmethod
    def from_json(cls, code: str, raw: Mapping[str, Any]) -> AreaProfile:
        cuts = tuple(float(c) for c in raw["label_cuts"])
        if len(cuts) != 3:
            raise ValueError(f"{code}: label_cuts needs 3 values")
        return cls(
            code=code,
            level=float(raw["level"]),
            weekday=tuple(float(f) for f in raw["weekday"]),
            weekend=tuple(float(f) for f in raw["weekend"]),
            noise=float(raw["noise"]),
            label_cuts=(cuts[0], cuts[1], cuts[2]),
            source=str(raw["source"]),
        )


@dataclass(frozen=True)
class CityCalibration:
    profiles: Mapping[str, AreaProfile]
    fitted_on: Mapping[str, Any]

    def profile(self, code: str) -> AreaProfile:
        return self.profiles[code]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "fitted_on": dict(self.fitted_on),
            "areas": {code: p.to_json() for code, p in sorted(self.profiles.items())},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CityCalibration:
        if raw.get("version") != 1:
            raise ValueError(f"unsupported calibration version {raw.get('version')!r}")
        areas = raw["areas"]
        return cls(
            profiles={code: AreaProfile.from_json(code, a) for code, a in areas.items()},
            fitted_on=raw.get("fitted_on", {}),
        )


def load_calibration(path: Path | None = None) -> CityCalibration:
    """The shipped calibration (calibration.json in this package) or one at `path`."""
    if path is None:
        text = resources.files("sensors.simulator").joinpath("calibration.json").read_text("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return CityCalibration.from_json(json.loads(text))


def mean_shape(shapes: Sequence[Sequence[float]]) -> tuple[float, ...]:
    """Hour-by-hour mean of several daily shapes (a category prior)."""
    n = len(shapes)
    if n == 0:
        return (1.0,) * HOURS
    return tuple(sum(s[h] for s in shapes) / n for h in range(HOURS))
