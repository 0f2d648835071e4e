"""The one error body every API route answers with, and the statuses it documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """`detail` in English for logs and scripts; the dashboard translates the status or
    the `X-Error-Code` header (e.g. `invalid_transition`) instead of showing it."""

    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": why}
    for status, why in (
        (401, "no token, or a bad or expired one"),
        (403, "the caller's role is too low"),
        (404, "unknown area, alert or profile"),
        (409, "the change is not allowed in the current state (X-Error-Code says which)"),
        (429, "anonymous rate limit reached; Retry-After says when to retry"),
        (503, "database unavailable; Retry-After says when to retry"),
    )
}
