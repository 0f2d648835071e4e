"""Sign-in, the caller's identity and the accounts admins manage."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from citypulse.domain.agencies import Agency

Role = Literal["viewer", "operator", "admin"]
ROLE_RANK: dict[str, int] = {"viewer": 0, "operator": 1, "admin": 2}
USERNAME_PATTERN = r"^[a-z0-9_.-]{3,40}$"


class UserBase(BaseModel):
    username: str
    role: Role


class UserPublic(UserBase):
    display_name: str = ""
    agency: Agency = "city"
    # Where the user may act (acknowledge, resolve, silence, thresholds); empty: the city.
    districts: list[str] = []

    def may_act_in(self, district: str | None) -> bool:
        """Admins and city-wide users anywhere; a district's user only in its districts."""
        if self.role == "admin" or not self.districts:
            return True
        return district is not None and district in self.districts


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    role: Role
    expires_in: int


class AccountCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=1, max_length=200)
    role: Role
    display_name: str = Field(default="", max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")
    agency: Agency
    districts: list[str] = Field(default=[], max_length=25)

    @field_validator("districts")
    @classmethod
    def _plain_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not 1 <= len(name) <= 20 or any(ord(c) < 32 or ord(c) == 127 for c in name):
                raise ValueError("a district is a name of 1 to 20 printable characters")
        return sorted(set(names))


class PasswordReset(BaseModel):
    password: str = Field(min_length=1, max_length=200)


class AccountOut(BaseModel):
    username: str
    role: Role
    active: bool
    display_name: str
    agency: Agency
    districts: list[str]
    locked_until: datetime | None
    created_at: datetime
    oidc_subject: str | None = None  # linked identity-provider subject (or claim value)


class OidcLink(BaseModel):
    """The value of the configured ID-token claim (CITYPULSE_OIDC_ACCOUNT_CLAIM)."""

    subject: str = Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")


class OidcConfig(BaseModel):
    """Whether the page offers sign-in through the city's identity provider."""

    enabled: bool
    label: str = ""  # empty: the page's own words


class OidcSession(Token):
    """The token an identity-provider sign-in earned, handed to the page once."""

    username: str
