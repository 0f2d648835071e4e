"""Login and caller identity."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Role = Literal["viewer", "operator", "admin"]
ROLE_RANK: dict[str, int] = {"viewer": 0, "operator": 1, "admin": 2}


class UserBase(BaseModel):
    username: str
    role: Role


class UserPublic(UserBase):
    pass


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    role: Role
    expires_in: int
