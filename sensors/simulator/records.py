"""What the simulator emits before it becomes an event object or wire bytes.

An `Emission` is one reading of one device at one simulated instant; faults rewrite
emissions and renderers turn them into `sensors.events` objects or JSON bytes, so both
paths see exactly the same stream. A `MalformedPayload` is bytes that cannot be an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

EmissionKind = Literal["population_estimate", "zone_count", "environment_reading"]
DefectKind = Literal[
    "not_json",
    "unknown_kind",
    "missing_field",
    "negative_count",
    "wrong_type",
    "far_future_time",
    "unknown_area",
    "oversized",
]
DEFECT_KINDS: tuple[DefectKind, ...] = (
    "not_json",
    "unknown_kind",
    "missing_field",
    "negative_count",
    "wrong_type",
    "far_future_time",
    "unknown_area",
    "oversized",
)

# Values per kind, in this order:
#   population_estimate: (people_min, people_max, congestion_level)
#   zone_count:          (count,)
#   environment_reading: (pm10, pm25, temperature_c, humidity_pct, noise_db, visitor_count)
Values = tuple[int | float | str | None, ...]


class Emission(NamedTuple):
    kind: EmissionKind
    device: int  # index into the simulator's device table of that kind
    device_id: str  # area code (telecom), counter id or S-DoT serial: what faults target
    event_time: datetime
    ingest_time: datetime
    event_id: str
    values: Values


@dataclass(frozen=True)
class MalformedPayload:
    """Bytes with an intended defect, to rehearse the validator and the dead-letter path."""

    key: bytes | None
    value: bytes
    defect: DefectKind
    emitted_at: datetime  # simulated instant it is sent, for pacing
