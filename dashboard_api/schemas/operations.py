"""Bodies operators and admins send: alert actions, silences, thresholds, event days.
(Recipients: schemas/recipients.py.)"""

from __future__ import annotations

import itertools
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

AreaCode = Annotated[str, Field(pattern=r"^POI[0-9]{3}$")]
Text = Annotated[str, Field(max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcknowledgeCreate(Strict):
    note: Text = ""


class ResolveCreate(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class CommentCreate(Strict):
    text: Annotated[str, Field(min_length=1, max_length=1000)]


class SilenceCreate(Strict):
    area_code: AreaCode | None = None
    district: Annotated[str, Field(max_length=40)] | None = None
    rule: Annotated[str, Field(max_length=60)] | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Annotated[str, Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _window(self) -> SilenceCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class ThresholdsBase(Strict):
    """Lower bound of each stage in persons/m²; positive and strictly increasing."""

    attention: Annotated[float, Field(gt=0, le=20)]
    caution: Annotated[float, Field(gt=0, le=20)]
    alert: Annotated[float, Field(gt=0, le=20)]
    serious: Annotated[float, Field(gt=0, le=20)]

    @model_validator(mode="after")
    def _increasing(self) -> ThresholdsBase:
        bounds = (self.attention, self.caution, self.alert, self.serious)
        if any(a >= b for a, b in itertools.pairwise(bounds)):
            raise ValueError("thresholds must increase: attention < caution < alert < serious")
        return self


class ThresholdsUpdate(Strict):
    thresholds: ThresholdsBase | None  # None: back to the defaults


# A declared crowd (`event_day_profiles.expected_people`, migration 0019: > 0): at most
# about the largest crowd Seoul gathers (the Yeouido fireworks, about a million).
MAX_EXPECTED_PEOPLE = 1_000_000


class EventDayCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    thresholds: ThresholdsBase
    area_codes: Annotated[list[AreaCode], Field(max_length=200)] = []
    # How many people the event is planned for (a venue's seats, a park's capacity): the
    # above-normal rule measures the area against it while the day is active
    # (docs/alerts.md, "Declared crowds"). Whole people, 1..1,000,000; absent: none.
    expected_people: Annotated[int, Field(strict=True, ge=1, le=MAX_EXPECTED_PEOPLE)] | None = None

    @model_validator(mode="after")
    def _window(self) -> EventDayCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self
