"""What the API answers, typed for /openapi.json and the docs.

Each model names the fields a client can rely on; `extra="allow"` keeps any further
field the stores return, so typing a route never drops data a client already reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from citypulse.domain.comfort import ComfortLabel
from dashboard_api.schemas.operations import ThresholdsBase


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class StateSummary(Answer):
    """An area's (or zone's) live state as the hub holds it; null when none yet."""

    stage: str | None = None
    stage_ko: str | None = None
    density_per_m2: float | None = None
    people: float | None = None
    as_of: str | None = None
    stale: bool | None = None
    comfort_level: str | None = None  # Seoul's own label (여유/보통/약간 붐빔/붐빔)
    forecast: list[dict[str, Any]] | None = None


class AreaProperties(Answer):
    code: str
    name_ko: str
    name_en: str
    district: str
    category: str
    area_m2: float
    walkable_m2: float
    state: StateSummary | None


class AreaFeature(Answer):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]  # a GeoJSON Polygon, lon/lat
    properties: AreaProperties


class AreaCollection(Answer):
    type: Literal["FeatureCollection"]
    features: list[AreaFeature]
    seq: int
    epoch: str


class SeoulForecastPointOut(Answer):
    time: datetime
    people_min: int
    people_max: int
    congestion_level: ComfortLabel | None  # Seoul's label for that hour


class SeoulForecastOut(Answer):
    """Seoul's own forecast (citydata FCST_PPLTN), not CityPulse's: hourly head-count
    ranges and comfort labels as Seoul published them with the reading of `issued_at`."""

    issued_at: datetime
    source: str
    points: list[SeoulForecastPointOut]


class AreaDetail(Answer):
    code: str
    name_ko: str
    name_en: str
    district: str
    category: str
    walkable_m2: float
    thresholds: dict[str, Any] | None  # the area's own stage thresholds; null: defaults
    state: StateSummary | None
    sources: list[dict[str, Any]]
    zones: list[dict[str, Any]]
    seoul_forecast: SeoulForecastOut | None = None


class HistoryPoint(Answer):
    bucket: str
    source: str
    people_avg: float
    density_avg: float


class AreaHistory(Answer):
    area_code: str
    zone_id: str
    resolution: str
    points: list[HistoryPoint]


class FeedArea(Answer):
    area_code: str
    status: Literal["ok", "stale", "missing"]
    age_s: float | None


class FeedsReport(Answer):
    summary: dict[str, int]
    areas: list[FeedArea]
    workers: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    kafka: dict[str, Any]


class AlertOut(Answer):
    id: int
    area_code: str
    zone_id: str | None
    rule: str
    stage: str
    status: Literal["open", "acknowledged", "resolved", "auto_resolved"]
    density_per_m2: float
    opened_at: datetime
    acknowledged_by: str | None = None
    resolved_by: str | None = None


class AuditLine(Answer):
    at: datetime
    who: str
    action: str  # opened, acknowledged, commented, resolved, ...


class AlertDetail(AlertOut):
    audit: list[AuditLine]
    sms: list[dict[str, Any]]


class SilenceOut(Answer):
    id: int
    area_codes: list[str]
    districts: list[str]
    max_stage: str  # texts up to this stage are muted; 심각 breaks through
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str


class ThresholdConfig(Answer):
    default: dict[str, float]
    overrides: list[dict[str, Any]]
    event_days: list[dict[str, Any]]


class ThresholdChange(Answer):
    area_code: str
    thresholds: ThresholdsBase | None  # null: back to the defaults


class EventDayOut(Answer):
    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    thresholds: dict[str, float]
    area_codes: list[str]
    created_by: str
    expected_people: int | None = None


class OperatorAction(Answer):
    id: int
    at: datetime
    actor: str
    role: str | None
    action: str
    target: str | None
