"""Sign-in: the OAuth2 password flow, answered with a signed JWT."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, status

from dashboard_api.api.deps import CallerDep, ConnDep, SettingsDep
from dashboard_api.core.security import DUMMY_HASH, encode_jwt, verify_password
from dashboard_api.schemas.auth import Token, UserPublic
from dashboard_api.store.users import find_user, record_action

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
MAX_FORM_BYTES = 2048


async def _form(request: Request) -> dict[str, str]:
    # Parsed by hand: the OAuth2 form is a few urlencoded fields, and FastAPI's Form()
    # would add python-multipart as a dependency.
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise HTTPException(415, "send application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    try:
        fields = parse_qs(body.decode(), strict_parsing=False, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "malformed form") from None
    return {k: v[0] for k, v in fields.items()}


_FORM_SCHEMA = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["password"]},
        "username": {"type": "string"},
        "password": {"type": "string", "format": "password"},
    },
}
_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA}},
    }
}


@router.post("/token", openapi_extra=_FORM_DOC)
async def login(request: Request, conn: ConnDep, settings: SettingsDep) -> Token:
    """Exchange a username and password (OAuth2 password form) for a bearer token."""
    form = await _form(request)
    username, password = form.get("username", "")[:40], form.get("password", "")[:200]
    if form.get("grant_type", "password") != "password" or not username or not password:
        raise HTTPException(400, "grant_type=password with username and password required")
    user = await find_user(conn, username)
    ok = await asyncio.to_thread(
        verify_password, password, user["password_hash"] if user else DUMMY_HASH
    )
    if user is None or not ok:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    now = int(time.time())
    claims = {
        "sub": user["username"],
        "role": user["role"],
        "iat": now,
        "exp": now + settings.jwt_ttl_s,
    }
    async with conn.transaction():
        await record_action(conn, user["username"], user["role"], "auth.login", user["username"])
    token = encode_jwt(claims, settings.jwt_secret.get_secret_value())
    return Token(access_token=token, role=user["role"], expires_in=settings.jwt_ttl_s)


@router.get("/me")
async def me(caller: CallerDep) -> UserPublic:
    """Who the bearer token says the caller is (anonymous callers are viewers)."""
    return caller
