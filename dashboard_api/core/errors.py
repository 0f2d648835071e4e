"""Error answers that stay small and never 500 for what a caller sent.

FastAPI's own 422 repeats each failing value (`input`), so a 20 MB string came back as
a 20 MB error, and a password typed into the wrong field came back too. Here an error
names where and why, and the value only when it is a number or a boolean.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)
MAX_ERRORS = 20
MAX_EXCERPT = 80  # characters of a location part


def _excerpt(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return f"<{type(value).__name__}>"


def trimmed(errors: Any) -> list[dict[str, Any]]:
    out = []
    for error in list(errors)[:MAX_ERRORS]:
        out.append(
            {
                "loc": [str(part)[:MAX_EXCERPT] for part in error.get("loc", ())][:10],
                "msg": str(error.get("msg", ""))[:200],
                "type": str(error.get("type", ""))[:60],
                "input": _excerpt(error.get("input")),
            }
        )
    return out


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": trimmed(errors)}, status_code=422)


async def bad_parameter(request: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses (a NUL byte, an out-of-range number): the caller's."""
    log.info("%s %s: value refused by the database: %s", request.method, request.url.path,
             type(exc).__name__)  # fmt: skip
    return JSONResponse({"detail": "a parameter has a value that cannot be used"}, status_code=400)
