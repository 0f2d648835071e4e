"""Alert rules: stage thresholds with hold and hysteresis, above the area's normal, rate of
rise, forecast crossing, data gap, data quality; overrides, event-day profiles, silences,
inhibition and grouping. Pure."""

from alerts.rules.above_normal import AboveNormalRule
from alerts.rules.config import (
    TECHNICAL_RULES,
    AlertEventDay,
    AlertPolicy,
    DataGapRule,
    DataQualityRule,
    ForecastRule,
    RateOfRiseRule,
    RuleKind,
    RuleOverride,
    RuleSet,
    StageRule,
    dedup_key,
)
from alerts.rules.decisions import (
    AlertDecision,
    AlertSubject,
    AreaInfo,
    Deescalate,
    Escalate,
    Fire,
    Mute,
    NoChange,
    Reading,
    Resolve,
)
from alerts.rules.engine import AlertEngine, OpenAlert
from alerts.rules.grouping import DistrictGrouper
from alerts.rules.silences import Silence

__all__ = [
    "TECHNICAL_RULES",
    "AboveNormalRule",
    "AlertDecision",
    "AlertEngine",
    "AlertEventDay",
    "AlertPolicy",
    "AlertSubject",
    "AreaInfo",
    "DataGapRule",
    "DataQualityRule",
    "Deescalate",
    "DistrictGrouper",
    "Escalate",
    "Fire",
    "ForecastRule",
    "Mute",
    "NoChange",
    "OpenAlert",
    "RateOfRiseRule",
    "Reading",
    "Resolve",
    "RuleKind",
    "RuleOverride",
    "RuleSet",
    "Silence",
    "StageRule",
    "dedup_key",
]
