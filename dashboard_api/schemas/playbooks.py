"""Playbooks (대응 매뉴얼) as the API shows them and the bodies admins and operators send."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from alerts.playbooks import KEY_PATTERN, TEXT_MAX, AreaType
from citypulse.domain.agencies import Agency

PlaybookStage = Literal["attention", "caution", "alert", "serious"]
ActionText = Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaybookActionIn(Strict):
    key: Annotated[str, Field(pattern=KEY_PATTERN)]
    agency: Agency
    text_ko: ActionText
    text_en: ActionText


class ChecklistIn(Strict):
    actions: Annotated[list[PlaybookActionIn], Field(max_length=20)]


class TickCreate(Strict):
    action_key: Annotated[str, Field(pattern=KEY_PATTERN)]
    ticked: bool = True


class PlaybookActionOut(BaseModel):
    key: str
    position: int
    agency: Agency
    text_ko: str
    text_en: str


class ChecklistOut(BaseModel):
    stage: PlaybookStage
    area_type: AreaType
    actions: list[PlaybookActionOut]


class PlaybooksOut(BaseModel):
    stages: list[PlaybookStage]
    area_types: list[AreaType]
    checklists: list[ChecklistOut]  # every stage and type; an empty one uses `default`


class ActionState(PlaybookActionOut):
    ticked: bool
    ticked_by: str | None = None  # username
    ticked_by_name: str | None = None  # display name
    ticked_at: datetime | None = None


class TickOut(BaseModel):
    action_key: str
    text_ko: str
    text_en: str
    agency: Agency
    ticked: bool
    username: str
    display_name: str
    at: datetime


class AlertPlaybookOut(BaseModel):
    id: int
    alert_id: str
    stage: str
    area_type: AreaType
    may_tick: bool  # the caller may tick here (role and districts)
    actions: list[ActionState]
    history: list[TickOut]  # every tick and untick, oldest first
