"""Versioned event schemas carried on the city-events topic.

Every event is JSON, keyed by area code (or sensor id when a sensor lies outside every
hotspot) so that one area's events stay ordered on one partition. Units are part of the
field names; every time is timezone-aware. `docs/events.md` documents each kind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from citypulse.domain.comfort import ComfortLabel

SCHEMA_VERSION: Literal[1] = 1

AreaCode = Annotated[str, Field(pattern=r"^POI\d{3}$")]


class EventDecodeError(ValueError):
    """Raised when bytes on the wire are not a valid city event; `reason` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = SCHEMA_VERSION
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    source: Annotated[str, Field(min_length=1, max_length=64)]
    event_time: AwareDatetime
    ingest_time: AwareDatetime

    def partition_key(self) -> str:
        raise NotImplementedError


class ForecastPoint(BaseModel):
    """One FCST_PPLTN entry: Seoul's own forecast for a future time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: AwareDatetime
    people_min: Annotated[int, Field(ge=0)]
    people_max: Annotated[int, Field(ge=0)]
    congestion_level: ComfortLabel | None = None


class PopulationEstimate(_Event):
    """Area-wide head-count range (Seoul citydata_ppltn LIVE_PPLTN_STTS, telecom based)."""

    kind: Literal["population_estimate"] = "population_estimate"
    area_code: AreaCode
    people_min: Annotated[int, Field(ge=0)]
    people_max: Annotated[int, Field(ge=0)]
    congestion_level: ComfortLabel | None = None
    replaced: bool = False  # REPLACE_YN: Seoul substituted this value
    forecast: tuple[ForecastPoint, ...] = ()

    @model_validator(mode="after")
    def _range_ordered(self) -> PopulationEstimate:
        if self.people_max < self.people_min:
            raise ValueError("people_max must be >= people_min")
        return self

    @property
    def people(self) -> float:
        return (self.people_min + self.people_max) / 2.0

    def partition_key(self) -> str:
        return self.area_code


class ZoneCount(_Event):
    """A people counter (CCTV, gate, Wi-Fi) for one zone inside an area."""

    kind: Literal["zone_count"] = "zone_count"
    area_code: AreaCode
    zone_id: Annotated[str, Field(min_length=1, max_length=64)]
    counter_id: Annotated[str, Field(min_length=1, max_length=64)]
    count: Annotated[int, Field(ge=0)]
    walkable_m2: Annotated[float, Field(gt=0)]
    confidence: Annotated[float, Field(ge=0, le=1)] = 1.0

    def partition_key(self) -> str:
        return self.area_code


class EnvironmentReading(_Event):
    """An S-DoT style environment reading; None where the sensor does not measure it."""

    kind: Literal["environment_reading"] = "environment_reading"
    sensor_id: Annotated[str, Field(min_length=1, max_length=64)]
    area_code: AreaCode | None = None
    pm10_ugm3: float | None = None
    pm25_ugm3: float | None = None
    temperature_c: float | None = None
    humidity_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    wind_direction_deg: Annotated[float, Field(ge=0, le=360)] | None = None
    wind_speed_ms: Annotated[float, Field(ge=0)] | None = None
    light_lux: Annotated[float, Field(ge=0)] | None = None
    uv_index: Annotated[float, Field(ge=0)] | None = None
    noise_db: Annotated[float, Field(ge=0)] | None = None
    vibration_x_g: float | None = None
    vibration_y_g: float | None = None
    vibration_z_g: float | None = None
    visitor_count: Annotated[int, Field(ge=0)] | None = None

    def partition_key(self) -> str:
        return self.area_code or self.sensor_id


class SensorStatus(_Event):
    """Heartbeat or fault report of a sensor or counter."""

    kind: Literal["sensor_status"] = "sensor_status"
    sensor_id: Annotated[str, Field(min_length=1, max_length=64)]
    area_code: AreaCode | None = None
    status: Literal["ok", "fault", "offline"]
    detail: Annotated[str, Field(max_length=500)] = ""

    def partition_key(self) -> str:
        return self.area_code or self.sensor_id


CityEvent = Annotated[
    PopulationEstimate | ZoneCount | EnvironmentReading | SensorStatus,
    Field(discriminator="kind"),
]
_CITY_EVENT: TypeAdapter[CityEvent] = TypeAdapter(CityEvent)

MAX_EVENT_BYTES = 64 * 1024


def encode_event(event: _Event) -> bytes:
    return event.model_dump_json().encode()


def decode_event(raw: bytes | None) -> CityEvent:
    """Parse one wire event, raising EventDecodeError with a reason code on any defect."""
    if raw is None or len(raw) == 0:
        raise EventDecodeError("empty", "no payload")
    if len(raw) > MAX_EVENT_BYTES:
        raise EventDecodeError("oversized", f"{len(raw)} bytes > {MAX_EVENT_BYTES}")
    try:
        return _CITY_EVENT.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        kind = first["type"]
        reason = "not_json" if kind == "json_invalid" else "schema"
        if kind in {"union_tag_invalid", "union_tag_not_found"}:
            reason = "unknown_kind"
        where = ".".join(str(p) for p in first["loc"])
        raise EventDecodeError(reason, f"{where}: {first['msg']}") from None


def event_time_of(event: CityEvent) -> datetime:
    return event.event_time
