"""Safety stages by crowd density (persons per m²), after the Ministry of the Interior and
Safety's four stages and Seoul's CCTV crowd-detection practice.

Pure: no Kafka, database or clock. Thresholds are data so that each area, zone and
event day can carry its own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal, cast

# The stages' names on the wire (area states, alerts, filters, the API), lowest first.
StageName = Literal["normal", "attention", "caution", "alert", "serious"]
STAGE_NAMES: tuple[StageName, ...] = ("normal", "attention", "caution", "alert", "serious")


class Stage(IntEnum):
    """Ordered so that comparisons read naturally: Stage.SERIOUS > Stage.CAUTION."""

    NORMAL = 0  # 정상: below 관심
    ATTENTION = 1  # 관심
    CAUTION = 2  # 주의: district CCTV centre watches
    ALERT = 3  # 경계: staff go on site
    SERIOUS = 4  # 심각: city, fire and police come in

    @property
    def label_ko(self) -> str:
        return _LABEL_KO[self]

    @property
    def label_en(self) -> str:
        return self.wire_name

    @property
    def wire_name(self) -> StageName:
        return cast(StageName, self.name.lower())

    @classmethod
    def from_name(cls, name: str) -> Stage:
        """'caution' -> Stage.CAUTION; KeyError for anything else."""
        return cls[name.upper()]


_LABEL_KO = {
    Stage.NORMAL: "정상",
    Stage.ATTENTION: "관심",
    Stage.CAUTION: "주의",
    Stage.ALERT: "경계",
    Stage.SERIOUS: "심각",
}


@dataclass(frozen=True)
class StageThresholds:
    """Lower bound of each stage in persons/m²; must be strictly increasing."""

    attention: float = 1.5
    caution: float = 2.0
    alert: float = 3.0
    serious: float = 5.0

    def __post_init__(self) -> None:
        bounds = (self.attention, self.caution, self.alert, self.serious)
        if any(b <= 0 for b in bounds) or any(a >= b for a, b in itertools.pairwise(bounds)):
            raise ValueError(f"stage thresholds must be positive and increasing: {bounds}")

    def lower_bound(self, stage: Stage) -> float:
        return {
            Stage.NORMAL: 0.0,
            Stage.ATTENTION: self.attention,
            Stage.CAUTION: self.caution,
            Stage.ALERT: self.alert,
            Stage.SERIOUS: self.serious,
        }[stage]


DEFAULT_THRESHOLDS = StageThresholds()
# Narrow alleys are stricter: Seoul treats above 4/m² there as 심각.
NARROW_ALLEY_THRESHOLDS = StageThresholds(attention=1.0, caution=1.5, alert=2.5, serious=4.0)


def stage_for_density(
    density_per_m2: float, thresholds: StageThresholds = DEFAULT_THRESHOLDS
) -> Stage:
    if density_per_m2 >= thresholds.serious:
        return Stage.SERIOUS
    if density_per_m2 >= thresholds.alert:
        return Stage.ALERT
    if density_per_m2 >= thresholds.caution:
        return Stage.CAUTION
    if density_per_m2 >= thresholds.attention:
        return Stage.ATTENTION
    return Stage.NORMAL
