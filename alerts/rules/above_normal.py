"""Above-normal rule: an area holding well above its usual head count for this hour and
day type, escalating with the excess (2x 주의, 3x 경계, 5x 심각 by default).

This is the alert for a large polygon where persons/m² says nothing: Seoul's hotspots
average under 1/m² even when Seoul calls them 붐빔. The usual count and its spread come
from the calibration fitted on the area's own history (streams/calibration.py); the stream
worker puts them on the AreaState (`normal_people`, `normal_sd`, `normal_ratio`). Zones
keep density stages; an area without a calibrated normal neither raises nor clears.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alerts.rules.levels import LevelConditions
from citypulse.domain.area_state import AreaState
from citypulse.domain.stages import Stage

DEFAULT_RATIOS: tuple[tuple[Stage, float], ...] = (
    (Stage.CAUTION, 2.0),
    (Stage.ALERT, 3.0),
    (Stage.SERIOUS, 5.0),
)
# Over a declared expected crowd (a capacity): 10 % beyond it, half again, twice it.
EXPECTED_RATIOS: tuple[tuple[Stage, float], ...] = (
    (Stage.CAUTION, 1.1),
    (Stage.ALERT, 1.5),
    (Stage.SERIOUS, 2.0),
)


@dataclass(frozen=True)
class AboveNormalRule:
    ratios: tuple[tuple[Stage, float], ...] = DEFAULT_RATIOS  # level -> people / normal
    # Also this many spreads above the normal: an area whose count swings widely at this
    # hour (a market day) needs more than the ratio before it is unusual.
    min_z: float = 3.0
    # Below this usual count a ratio is noise (40 people at 3 a.m. is not 2x of anything).
    min_normal_people: float = 500.0
    clear_fraction: float = 0.8  # a level clears below this share of its ratio
    # Also above the most the area has held around this hour on any day
    # (`normal_high`): Gocheok Dome full on a game night is its own kind of normal; an
    # event day's own profile is for the nights it is not.
    above_seen: bool = True
    # Beyond the first level, also that level's step above the area's `normal_high`
    # (경계 at 3x / 주의 at 2x: 1.5x the most it has held): a venue with event nights
    # has two normals, the quiet night's mean and the event night's high, and its excess
    # is measured from the one it is at. A level it has never held raises 주의; 경계 and
    # 심각 need a clear step past its event nights (bench/alert_quality.py).
    steps_above_seen: bool = True
    hold_s: float = 600.0  # held for two 5-minute Seoul updates before it fires
    clear_hold_s: float = 900.0
    enabled: bool = True
    # A declared event's expected crowd (a venue's capacity, `EventDayProfile.
    # expected_people`): while set, the count is measured against the larger of the
    # hourly normal and this, with `ratios` over it (EXPECTED_RATIOS: a dome full for a
    # game is planned; 1.5x its seats is not).
    expected_people: float | None = None

    def __post_init__(self) -> None:
        stages = [s for s, _ in self.ratios]
        values = [r for _, r in self.ratios]
        if not self.ratios or stages != sorted(stages) or values != sorted(values):
            raise ValueError(f"above-normal ratios must rise with the stage: {self.ratios}")
        if min(stages) <= Stage.NORMAL or min(values) <= 1.0:
            raise ValueError("above-normal levels start at 관심 and at a ratio above 1")
        if not 0 < self.clear_fraction <= 1 or self.hold_s < 0 or self.clear_hold_s < 0:
            raise ValueError("clear_fraction in (0, 1], holds not negative")

    @property
    def levels(self) -> tuple[Stage, ...]:
        return tuple(s for s, _ in self.ratios)

    def ratio_for(self, level: Stage) -> float:
        return dict(self.ratios)[level]


def above_normal_conditions(
    rule: AboveNormalRule, state: AreaState, levels: Sequence[Stage]
) -> LevelConditions:
    ratio, normal = state.normal_ratio, state.normal_people
    expected = rule.expected_people
    if state.scope == "area" and expected is not None and expected > (normal or 0.0):
        # A declared crowd (a venue's capacity) is what to expect now: measure against it,
        # calibrated or not.
        normal, ratio = expected, state.people / expected
    if state.scope != "area" or ratio is None or normal is None:
        # No normal to compare with (uncalibrated): nothing says it is unusual or usual.
        return LevelConditions({lvl: False for lvl in levels}, {lvl: False for lvl in levels})
    if normal < rule.min_normal_people:
        return LevelConditions({lvl: False for lvl in levels}, {lvl: True for lvl in levels})
    sd = state.normal_sd
    unusual = sd is None or sd <= 0 or (state.people - normal) / sd >= rule.min_z
    if expected is not None and normal == expected:
        unusual = True  # beyond a declared crowd by its ratio: the spread does not excuse it
    high = state.normal_high
    seen = rule.above_seen and high is not None and high > 0
    if seen and high is not None:
        unusual = unusual and state.people > high
    first = rule.ratios[0][1]

    def past_seen(lvl: Stage) -> bool:
        if not (seen and rule.steps_above_seen) or high is None:
            return True
        return state.people >= high * rule.ratio_for(lvl) / first

    return LevelConditions(
        raise_={lvl: unusual and ratio >= rule.ratio_for(lvl) and past_seen(lvl) for lvl in levels},
        clear={lvl: ratio < rule.ratio_for(lvl) * rule.clear_fraction for lvl in levels},
    )
