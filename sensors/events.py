"""Versioned event schemas carried on the city-events topic.

Every event is JSON, keyed by area code (or sensor id when a sensor lies outside every
hotspot) so that one area's events stay ordered on one partition. Units are part of the
field names; every time is timezone-aware. `docs/events.md` documents each kind.

`decode_event` is the one door into the worker and is strict: bytes that are not one
well-formed event of bounded size, with JSON types as declared (no string for a number,
no `true` for a number, no number for a time), finite and physically bounded numbers,
printable strings, times inside 2000-2100, and no key given twice, raise EventDecodeError
with a reason code. Whatever passes can be stored and folded without overflow.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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
# No C0/C1 control characters (NUL breaks PostgreSQL text, the others logs and headers).
_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"
EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=_PRINTABLE)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=_PRINTABLE)]
# Any time outside this range is a broken clock, and far enough from datetime's year 1 and
# 9999 that converting it to UTC, bucketing it or adding a day cannot overflow.
Time = Annotated[
    AwareDatetime,
    Field(ge=datetime(2000, 1, 1, tzinfo=UTC), lt=datetime(2100, 1, 1, tzinfo=UTC)),
]
MAX_PEOPLE = 10_000_000  # more than Seoul's population: a larger count is a broken source
People = Annotated[int, Field(ge=0, le=MAX_PEOPLE)]


class EventDecodeError(ValueError):
    """Raised when bytes on the wire are not a valid city event; `reason` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    # Declared here so that it is the first key on the wire (each kind narrows it to its
    # Literal, in place): a decoder of the union learns the kind before anything else.
    # msgspec (sensors/lean.py), finding the tag later, skips to it and reads the object
    # a second time (about a fifth of its decoding; bench/batch_cpu.py --instructions).
    kind: str
    # An int, not Literal[1]: pydantic matches a literal 1 by equality, so `true` and
    # `1.0` would pass as version 1.
    v: Annotated[int, Field(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)] = SCHEMA_VERSION
    event_id: EventId
    source: Name
    event_time: Time
    ingest_time: Time

    def partition_key(self) -> str:
        raise NotImplementedError


# Seoul forecasts the next 12 hours from its last reading; it has been seen to keep sending
# a forecast for several hours after its forecast service stopped (points in the past).
# A point further than a day either side of its reading is a broken clock, not a forecast.
FORECAST_REACH = timedelta(hours=24)


class ForecastPoint(BaseModel):
    """One FCST_PPLTN entry: Seoul's own forecast for a future time."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    time: Time
    people_min: People
    people_max: People
    congestion_level: ComfortLabel | None = None

    @model_validator(mode="after")
    def _range_ordered(self) -> ForecastPoint:
        if self.people_max < self.people_min:
            raise ValueError("people_max must be >= people_min")
        return self


class PopulationEstimate(_Event):
    """Area-wide head-count range (Seoul citydata_ppltn LIVE_PPLTN_STTS, telecom based)."""

    kind: Literal["population_estimate"] = "population_estimate"
    area_code: AreaCode
    people_min: People
    people_max: People
    congestion_level: ComfortLabel | None = None
    replaced: bool = False  # REPLACE_YN: Seoul substituted this value
    forecast: Annotated[tuple[ForecastPoint, ...], Field(max_length=48)] = ()

    @model_validator(mode="after")
    def _range_ordered(self) -> PopulationEstimate:
        if self.people_max < self.people_min:
            raise ValueError("people_max must be >= people_min")
        if self.forecast:
            _check_forecast(self.forecast, self.event_time)
        return self

    @property
    def people(self) -> float:
        return (self.people_min + self.people_max) / 2.0

    def partition_key(self) -> str:
        return self.area_code


def _check_forecast(points: tuple[ForecastPoint, ...], reading_time: datetime) -> None:
    """Points in time order, each time once, within FORECAST_REACH of the reading."""
    earliest, latest = reading_time - FORECAST_REACH, reading_time + FORECAST_REACH
    previous: datetime | None = None
    for i, point in enumerate(points):
        if not earliest <= point.time <= latest:
            hours = FORECAST_REACH.total_seconds() / 3600
            raise ValueError(f"forecast[{i}].time is more than {hours:.0f} h from event_time")
        if previous is not None and point.time <= previous:
            raise ValueError(f"forecast[{i}].time is not after forecast[{i - 1}].time")
        previous = point.time


class ZoneCount(_Event):
    """A people counter (CCTV, gate, Wi-Fi) for one zone inside an area."""

    kind: Literal["zone_count"] = "zone_count"
    area_code: AreaCode
    zone_id: Name
    counter_id: Name
    count: People
    walkable_m2: Annotated[float, Field(ge=1.0, le=100_000_000.0)]  # 1 m² to 100 km²
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0

    def partition_key(self) -> str:
        return self.area_code


class EnvironmentReading(_Event):
    """An S-DoT style environment reading; None where the sensor does not measure it."""

    kind: Literal["environment_reading"] = "environment_reading"
    sensor_id: Name
    area_code: AreaCode | None = None
    # Finite (allow_inf_nan) and inside physical bounds, looser than the S-DoT adapter's
    # sensor ranges (sensors/adapters/sdot.py).
    pm10_ugm3: Annotated[float, Field(ge=0.0, le=10_000.0)] | None = None
    pm25_ugm3: Annotated[float, Field(ge=0.0, le=10_000.0)] | None = None
    temperature_c: Annotated[float, Field(ge=-100.0, le=100.0)] | None = None
    humidity_pct: Annotated[float, Field(ge=0.0, le=100.0)] | None = None
    wind_direction_deg: Annotated[float, Field(ge=0.0, le=360.0)] | None = None
    wind_speed_ms: Annotated[float, Field(ge=0.0, le=200.0)] | None = None
    light_lux: Annotated[float, Field(ge=0.0, le=500_000.0)] | None = None
    uv_index: Annotated[float, Field(ge=0.0, le=50.0)] | None = None
    noise_db: Annotated[float, Field(ge=0.0, le=200.0)] | None = None
    vibration_x_g: Annotated[float, Field(ge=-100.0, le=100.0)] | None = None
    vibration_y_g: Annotated[float, Field(ge=-100.0, le=100.0)] | None = None
    vibration_z_g: Annotated[float, Field(ge=-100.0, le=100.0)] | None = None
    visitor_count: People | None = None

    def partition_key(self) -> str:
        return self.area_code or self.sensor_id


class SensorStatus(_Event):
    """Heartbeat or fault report of a sensor or counter."""

    kind: Literal["sensor_status"] = "sensor_status"
    sensor_id: Name
    area_code: AreaCode | None = None
    status: Literal["ok", "fault", "offline"]
    detail: Annotated[str, Field(max_length=500, pattern=_PRINTABLE)] = ""

    def partition_key(self) -> str:
        return self.area_code or self.sensor_id


CityEvent = Annotated[
    PopulationEstimate | ZoneCount | EnvironmentReading | SensorStatus,
    Field(discriminator="kind"),
]
_CITY_EVENT: TypeAdapter[CityEvent] = TypeAdapter(CityEvent)
# The adapter's own validator, called directly: TypeAdapter.validate_json is a Python
# wrapper that checks and passes on seven keyword arguments per call (a few thousand
# instructions an event, measured with bench/batch_cpu.py --instructions).
_validate_json = _CITY_EVENT.validator.validate_json

MAX_EVENT_BYTES = 64 * 1024


def encode_event(event: _Event) -> bytes:
    return event.model_dump_json().encode()


def decode_event(raw: bytes | None) -> CityEvent:
    """Parse one wire event, raising EventDecodeError with a reason code on any defect.

    Reason codes: `empty`, `oversized` (checked before any parsing), `not_json` (also
    invalid UTF-8, NaN/Infinity literals, a half message), `unknown_kind`, `schema` (a
    field missing, unknown, of another JSON type or out of bounds), `duplicate_key`.
    """
    if raw is None or len(raw) == 0:
        raise EventDecodeError("empty", "no payload")
    if len(raw) > MAX_EVENT_BYTES:
        raise EventDecodeError("oversized", f"{len(raw)} bytes > {MAX_EVENT_BYTES}")
    try:
        # strict: JSON types as declared, no "13" or true for a number, no number for a time.
        event: CityEvent = _validate_json(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        kind = first["type"]
        reason = "not_json" if kind == "json_invalid" else "schema"
        if kind in {"union_tag_invalid", "union_tag_not_found"}:
            reason = "unknown_kind"
        where = _printable(".".join(str(p) for p in first["loc"]), 120)
        raise EventDecodeError(reason, f"{where}: {_printable(first['msg'], 300)}") from None
    # `_has_duplicate_key`'s quick count and `_keys_given`, inline: it settles nearly
    # every event, and three calls less per event are measurable.
    keys = raw if len(raw.split(None, 1)) == 1 else raw.translate(None, b" \t\n\r")
    given = len(event.__pydantic_fields_set__)
    if type(event) is PopulationEstimate and event.forecast:
        given = _keys_given(event)
    if keys.count(b'":') != given and _has_duplicate_key(raw, event):
        raise EventDecodeError("duplicate_key", "a key is given more than once")
    return event


def _printable(text: str, limit: int) -> str:
    """`text` cut to `limit` with control characters escaped: a reason is logged and sent
    as a Kafka header, and may quote a hostile key."""
    return text[:limit].encode("unicode_escape").decode("ascii")


def _keys_given(event: CityEvent) -> int:
    # The attribute, not the model_fields_set property, and type(), not isinstance(), which
    # goes through pydantic's metaclass: about 1,000 instructions an event less.
    given = len(event.__pydantic_fields_set__)
    if type(event) is PopulationEstimate:
        given += sum(len(point.__pydantic_fields_set__) for point in event.forecast)
    return given


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKey
    return out


def _has_duplicate_key(raw: bytes, event: CityEvent) -> bool:
    """True when an object of `raw` names a key twice (the JSON parser keeps the last).

    `raw` parsed as one event with unknown keys refused, so each key is a field of the
    event or of a forecast point, and the keys are unique exactly when their number is the
    number of fields given. With all whitespace taken out, every key ends in `":`, and `":`
    appears elsewhere only inside a string (an escaped quote, a string that begins with a
    colon): counting `":` gives the keys or more, never fewer, so a count equal to the
    fields given proves them unique. Otherwise the standard library parses `raw` again
    and reports every pair (a few µs, for odd documents only).
    """
    # split() finds whitespace at a fraction of what translate() costs; most producers
    # (pydantic among them) write none.
    keys = raw if len(raw.split(None, 1)) == 1 else raw.translate(None, b" \t\n\r")
    if keys.count(b'":') == _keys_given(event):
        return False
    try:
        json.loads(raw, object_pairs_hook=_unique_pairs)
    except _DuplicateKey:
        return True
    except ValueError as exc:  # never seen: both parsers take the same JSON
        raise EventDecodeError("not_json", _printable(str(exc), 300)) from None
    return False


def event_time_of(event: CityEvent) -> datetime:
    return event.event_time
