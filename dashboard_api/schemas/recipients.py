"""SMS recipients as admins manage them: create, update, and the rows they read back.

A phone number is checked and normalised here (alerts.recipients.normalize_phone): a
refused one is a 422 whose message shows at most its last two digits. Quiet hours are
local Korean time, from → until, and may wrap midnight (22:00 → 07:00).
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from alerts.recipients import PhoneNumberError, normalize_phone
from citypulse.domain.agencies import Agency

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=_PRINTABLE)]
Label = Annotated[str, Field(min_length=1, max_length=40, pattern=_PRINTABLE)]
AreaCode = Annotated[str, Field(pattern=r"^POI[0-9]{3}$")]


def _korean_mobile(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except PhoneNumberError as err:
        raise ValueError(str(err)) from None  # masked: at most two digits


def _local(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("quiet hours are local Korean time (KST), written without an offset")
    return value


def _sorted_unique(values: list[str]) -> list[str]:
    return sorted(set(values))


Phone = Annotated[str, Field(max_length=40), AfterValidator(_korean_mobile)]
Labels = Annotated[list[Label], Field(max_length=25), AfterValidator(_sorted_unique)]
Areas = Annotated[list[AreaCode], Field(max_length=200), AfterValidator(_sorted_unique)]
Local = Annotated[time, AfterValidator(_local)]


class _Quiet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def _check_quiet(self, quiet_from: time | None, quiet_until: time | None, role: str) -> None:
        if (quiet_from is None) != (quiet_until is None):
            raise ValueError("quiet_from and quiet_until go together (both or neither)")
        if quiet_from is not None and quiet_from == quiet_until:
            raise ValueError("quiet_from and quiet_until must differ")
        if quiet_from is not None and role == "technical":
            raise ValueError(
                "technical (on-call) recipients have no quiet hours: they are texted at any hour"
            )


class RecipientCreate(_Quiet):
    name: Name
    phone: Phone
    tier: Annotated[int, Field(ge=1, le=3)] = 1
    groups: Labels = []
    agency: Agency = "city"
    districts: Labels = []
    areas: Areas = []
    language: Literal["ko", "en"] = "ko"
    role: Literal["crowd", "technical"] = "crowd"
    quiet_from: Local | None = None  # KST
    quiet_until: Local | None = None

    @model_validator(mode="after")
    def _quiet(self) -> RecipientCreate:
        self._check_quiet(self.quiet_from, self.quiet_until, self.role)
        return self


class RecipientUpdate(_Quiet):
    """Only the fields sent change; quiet hours are set or cleared (null) as a pair."""

    name: Name | None = None
    phone: Phone | None = None
    tier: Annotated[int, Field(ge=1, le=3)] | None = None
    groups: Labels | None = None
    agency: Agency | None = None
    districts: Labels | None = None
    areas: Areas | None = None
    language: Literal["ko", "en"] | None = None
    role: Literal["crowd", "technical"] | None = None
    quiet_from: Local | None = None
    quiet_until: Local | None = None

    @model_validator(mode="after")
    def _fields(self) -> RecipientUpdate:
        sent = self.model_fields_set
        if ("quiet_from" in sent) != ("quiet_until" in sent):
            raise ValueError("quiet_from and quiet_until go together (both or neither)")
        nullable = {"quiet_from", "quiet_until"}
        if any(getattr(self, f) is None for f in sent - nullable):
            raise ValueError("only quiet_from and quiet_until may be null")
        if "quiet_from" in sent:
            self._check_quiet(self.quiet_from, self.quiet_until, self.role or "crowd")
        return self


class RecipientPublic(BaseModel):
    """A recipient as the page lists it; `phone` (E.164) only for admins."""

    id: int
    name: str
    phone_masked: str
    phone: str | None = None
    tier: int
    language: str
    groups: list[str]
    districts: list[str]
    areas: list[str]
    active: bool
    role: str
    agency: str
    quiet_from: time | None
    quiet_until: time | None
