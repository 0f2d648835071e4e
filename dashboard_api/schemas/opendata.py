"""Response models of the open-data routes. The entities follow Smart Data Models and
Seoul's citydata_ppltn, whose attributes are many and optional: the models name what
every entity has and keep the rest (`extra="allow"`), so OpenAPI documents a type without
dropping a field a consumer reads."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class NotificationRejectOut(BaseModel):
    record: int  # index of the entity in the notification
    field: str
    reason: str


class NotificationReceiptOut(BaseModel):
    """What became of one NGSI notification's entities."""

    published: int
    repeated: int
    rejected: list[NotificationRejectOut]


class NgsiEntityOut(BaseModel):
    """A key-values Smart Data Models entity (CrowdFlowObserved, PointOfInterest)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str


class SeoulResultOut(BaseModel):
    code: str = Field(alias="RESULT.CODE")
    message: str = Field(alias="RESULT.MESSAGE")


class CitydataPpltnOut(BaseModel):
    """Seoul's citydata_ppltn JSON: the records and Seoul's RESULT block."""

    model_config = ConfigDict(populate_by_name=True)

    records: list[dict[str, object]] = Field(alias="SeoulRtd.citydata_ppltn")
    result: SeoulResultOut = Field(alias="RESULT")
