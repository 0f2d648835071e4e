"""Alert rule settings: defaults, per-area and per-zone overrides, event-day profiles.

Pure data. Defaults are chosen so that a normal day with noise around a threshold gives
at most one alert per area (hold 60 s before firing, clear only 0.3/m² below the stage's
lower bound held for 300 s), and a festival that ramps through the stages escalates in
order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from alerts.rules.above_normal import AboveNormalRule
from citypulse.domain.stages import DEFAULT_THRESHOLDS, Stage, StageThresholds
from citypulse.domain.thresholds import EventDayProfile, stricter


class RuleKind(StrEnum):
    STAGE = "stage"  # density crossed a safety stage
    RATE_OF_RISE = "rate_of_rise"  # density rising fast
    FORECAST = "forecast"  # 심각 forecast within N minutes
    DATA_GAP = "data_gap"  # a watched feed went silent
    DATA_QUALITY = "data_quality"  # an input no crowd can produce: for the technicians
    ABOVE_NORMAL = "above_normal"  # an area well above its usual count for the hour


# Rules about the system rather than the crowd: texted to the technical on-call group,
# never to crowd recipients, and never counted against a crowd recipient's budget.
TECHNICAL_RULES: frozenset[RuleKind] = frozenset({RuleKind.DATA_GAP, RuleKind.DATA_QUALITY})


def dedup_key(key: str, rule: RuleKind) -> str:
    """One open alert per (area or zone, rule): "POI009:stage", "POI009/z1:forecast"."""
    return f"{key}:{rule.value}"


@dataclass(frozen=True)
class StageRule:
    thresholds: StageThresholds = DEFAULT_THRESHOLDS
    min_stage: Stage = Stage.CAUTION  # 관심 shows on the dashboard; texts start at 주의
    hold_s: float = 60.0
    clear_margin_per_m2: float = 0.3
    clear_hold_s: float = 300.0
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.min_stage <= Stage.NORMAL:
            raise ValueError("min_stage must be 관심 or above")
        if self.hold_s < 0 or self.clear_hold_s < 0 or self.clear_margin_per_m2 < 0:
            raise ValueError("hold times and margin must not be negative")


@dataclass(frozen=True)
class RateOfRiseRule:
    rise_per_min: float = 0.1  # persons/m² per minute: +1/m² in 10 minutes
    min_density_per_m2: float = 1.5  # a fast rise in an empty square is not a crowd
    clear_below_per_min: float = 0.03
    hold_s: float = 120.0
    clear_hold_s: float = 300.0
    severity: Stage = Stage.CAUTION
    enabled: bool = True
    # One alert per key: while a stage, forecast or above-normal alert of the same key is
    # open at or above this rule's severity, a fast rise is already in its text (the
    # trend per minute), so this rule does not open a second alert of the same stage;
    # one already open when such an alert opens is folded into it (closed quietly).
    fold_into_open: bool = True


@dataclass(frozen=True)
class ForecastRule:
    target_stage: Stage = Stage.SERIOUS
    within_min: int = 30
    hold_s: float = 60.0
    clear_margin_per_m2: float = 0.3
    clear_hold_s: float = 300.0
    severity: Stage = Stage.ALERT  # an early warning, below the 심각 it predicts
    enabled: bool = True
    # Also warn when the current trend, held on a straight line, reaches the target
    # within `within_min`; it clears once that line is this much further out.
    straight_line: bool = True
    clear_after_extra_min: float = 15.0
    # Only a steady climb is projected: noise after an outage can give a slope, not
    # agreement (AreaState.trend_agreement; None, from an older worker: no projection).
    line_min_agreement: float = 0.6
    # One alert per key with the stage rule: the warning and the stage crossing it warned
    # of are one alert (the row whichever opened first), raised when either rule's level
    # rises past it (one text per higher stage) and closed when both have cleared; not a
    # second 경계 beside the first. False: two alerts, as before.
    one_alert_with_stage: bool = True


@dataclass(frozen=True)
class DataGapRule:
    hold_s: float = 0.0  # the stream worker already waited before flagging `stale`
    silent_after_s: float = 900.0  # no AreaState at all for this long (see sweep())
    severity: Stage = Stage.CAUTION
    watched: frozenset[str] | None = None  # area codes; None watches every area seen
    enabled: bool = True

    def watches(self, area_code: str) -> bool:
        return self.enabled and (self.watched is None or area_code in self.watched)


@dataclass(frozen=True)
class DataQualityRule:
    """A state whose inputs the stream worker judged implausible (`AreaState.implausible`,
    `density_plausible`): such a state never raises or escalates a crowd rule, it raises
    this one instead, routed like the data-gap alert (a feed problem, not a crowd)."""

    hold_s: float = 0.0  # one impossible reading is already worth a look
    clear_hold_s: float = 600.0  # a sensor that glitches every few minutes stays one alert
    severity: Stage = Stage.CAUTION
    enabled: bool = True


@dataclass(frozen=True)
class RuleSet:
    """The effective rules of one area or zone at one moment."""

    stage: StageRule = field(default_factory=StageRule)
    rate_of_rise: RateOfRiseRule = field(default_factory=RateOfRiseRule)
    forecast: ForecastRule = field(default_factory=ForecastRule)
    data_gap: DataGapRule = field(default_factory=DataGapRule)
    data_quality: DataQualityRule = field(default_factory=DataQualityRule)
    above_normal: AboveNormalRule = field(default_factory=AboveNormalRule)
    profile: str | None = None  # name of the event-day profile applied, if any
    extra_groups: tuple[str, ...] = ()  # recipient groups the profile adds


@dataclass(frozen=True)
class RuleOverride:
    """Replaces whole rules for one area ("POI009") or one zone ("POI009/z1")."""

    key: str
    stage: StageRule | None = None
    rate_of_rise: RateOfRiseRule | None = None
    forecast: ForecastRule | None = None
    data_gap: DataGapRule | None = None
    data_quality: DataQualityRule | None = None
    above_normal: AboveNormalRule | None = None

    def apply(self, rules: RuleSet) -> RuleSet:
        return replace(
            rules,
            stage=self.stage or rules.stage,
            rate_of_rise=self.rate_of_rise or rules.rate_of_rise,
            forecast=self.forecast or rules.forecast,
            data_gap=self.data_gap or rules.data_gap,
            data_quality=self.data_quality or rules.data_quality,
            above_normal=self.above_normal or rules.above_normal,
        )


@dataclass(frozen=True)
class AlertEventDay:
    """An event-day profile as the alert engine applies it.

    The profile itself (window, areas or zones, stricter thresholds) is the stream
    worker's `EventDayProfile`, so the dashboard and the alerts resolve the same bounds.
    Alerting adds districts to scope by, a shorter hold and extra recipient groups.
    Thresholds only ever get stricter (bound by bound minimum with the area's own), so a
    narrow alley keeps its stricter bounds during a festival.
    """

    profile: EventDayProfile
    districts: frozenset[str] = frozenset()
    hold_s: float | None = None
    extra_groups: tuple[str, ...] = ()
    # The day's own above-normal ratios (a festival is expected to be busy: higher ones).
    above_normal: AboveNormalRule | None = None

    @property
    def name(self) -> str:
        return self.profile.name

    def applies(self, area_code: str, zone_id: str | None, district: str, at: datetime) -> bool:
        p = self.profile
        if not p.active(at):
            return False
        if not self.districts:
            return p.covers(area_code, zone_id)
        # Districts add to the profile's area list; with no list they are the whole scope
        # (an empty list alone means every area).
        listed = area_code in p.area_codes or district in self.districts
        return listed and p.covers_zone(area_code, zone_id)

    def apply(self, rules: RuleSet) -> RuleSet:
        stage = replace(
            rules.stage, thresholds=stricter(rules.stage.thresholds, self.profile.thresholds)
        )
        if self.hold_s is not None:
            stage = replace(stage, hold_s=min(stage.hold_s, self.hold_s))
        return replace(
            rules,
            stage=stage,
            above_normal=self.above_normal or rules.above_normal,
            profile=self.name,
            extra_groups=(*rules.extra_groups, *self.extra_groups),
        )


@dataclass(frozen=True)
class AlertPolicy:
    """Defaults, overrides and profiles; `rules_for` resolves them for one key."""

    defaults: RuleSet = field(default_factory=RuleSet)
    overrides: Mapping[str, RuleOverride] = field(default_factory=dict)
    profiles: tuple[AlertEventDay, ...] = ()
    # Samples further apart than this break a hold: continuity is not established.
    max_sample_gap_s: float = 630.0
    # Only an open alert at or above this stage inhibits lower ones of the same area.
    inhibit_min_stage: Stage = Stage.SERIOUS
    inhibited_rules: frozenset[RuleKind] = frozenset(
        {RuleKind.STAGE, RuleKind.RATE_OF_RISE, RuleKind.FORECAST, RuleKind.ABOVE_NORMAL}
    )

    @classmethod
    def build(
        cls,
        defaults: RuleSet | None = None,
        overrides: Iterable[RuleOverride] = (),
        profiles: Iterable[AlertEventDay] = (),
    ) -> AlertPolicy:
        return cls(
            defaults=defaults or RuleSet(),
            overrides={o.key: o for o in overrides},
            profiles=tuple(profiles),
        )

    def rules_for(
        self, area_code: str, zone_id: str | None, district: str, at: datetime
    ) -> RuleSet:
        """Defaults, then the area's override, then the zone's, then active profiles."""
        rules = self.defaults
        area_override = self.overrides.get(area_code)
        if area_override is not None:
            rules = area_override.apply(rules)
        if zone_id is not None:
            zone_override = self.overrides.get(f"{area_code}/{zone_id}")
            if zone_override is not None:
                rules = zone_override.apply(rules)
        for profile in self.profiles:
            if profile.applies(area_code, zone_id, district, at):
                rules = profile.apply(rules)
        return rules
