"""What the record routes answer (dashboard_api/record), typed for /openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RecordEntryOut(BaseModel):
    time: datetime
    time_kst: str
    kind: str  # dashboard_api.record.entries.KINDS
    alert: str  # "A12", or "" for a crowd reading
    area: str
    who: str
    text: str


class RecordOut(BaseModel):
    """A timeline, oldest first; phone numbers masked unless the caller is an admin."""

    model_config = ConfigDict(populate_by_name=True)

    title: str
    from_: datetime = Field(alias="from")
    to: datetime
    areas: list[str]
    alerts: list[dict[str, Any]]
    generated_at: datetime
    generated_by: str
    notes: list[str]
    entries: list[RecordEntryOut]
