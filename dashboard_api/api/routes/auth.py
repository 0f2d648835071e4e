"""Sign-in: the OAuth2 password flow, answered with a signed JWT; throttled per account
and per address, every failure audited."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, status

from dashboard_api.api.deps import CallerDep, ConnDep, SettingsDep
from dashboard_api.core.addresses import client_address
from dashboard_api.core.security import (
    DUMMY_HASH,
    encode_token,
    hash_password,
    needs_rehash,
    password_version,
    verify_password,
)
from dashboard_api.core.throttle import AddressThrottle, SignInPolicy
from dashboard_api.present import contains_phone
from dashboard_api.schemas.auth import USERNAME_PATTERN, Token, UserPublic
from dashboard_api.store import users

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
MAX_FORM_BYTES = 2048
_USERNAME = re.compile(USERNAME_PATTERN)


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


def _audit_name(username: str) -> str:
    """The attempted name as the audit may keep it: printable, and never a phone number
    (someone typing their number into the name field)."""
    name = "".join(c for c in username if c.isprintable())[:40]
    return "[phone-like name]" if contains_phone(name) else name


def _refused(detail: str, code: str, wait_s: float) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail,
        {"Retry-After": str(max(1, round(wait_s))), "X-Error-Code": code},
    )


def _wrong() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "wrong username or password",
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.post("/token", openapi_extra=_FORM_DOC)
async def login(request: Request, conn: ConnDep, settings: SettingsDep) -> Token:
    """Exchange a username and password (OAuth2 password form) for a bearer token.
    Wrong passwords in a row slow further attempts (429 with Retry-After); after
    `login_lock_after` of them the account is locked, even for the right password."""
    form = await _form(request)
    username, password = form.get("username", "")[:40], form.get("password", "")[:200]
    if form.get("grant_type", "password") != "password" or not username or not password:
        raise HTTPException(400, "grant_type=password with username and password required")
    state = request.app.state
    policy: SignInPolicy = state.sign_in_policy
    throttle: AddressThrottle = state.address_throttle
    address = client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        state.trusted_proxies,
    )
    name = _audit_name(username)
    now = datetime.now(UTC)

    async def audit(action: str, role: str, **data: object) -> None:
        await users.record_action(conn, name, role, action, name, {"address": address, **data})
        # Committed now: the refusal that follows would roll the request's work back.
        await conn.commit()

    address_wait = throttle.retry_after(address, time.monotonic())
    if address_wait > 0:
        await audit("auth.refused", "anonymous", reason="address backoff")
        raise _refused(
            "too many failed sign-ins from this address", "sign_in_backoff", address_wait
        )
    account = await users.find_account(conn, username) if _USERNAME.fullmatch(username) else None
    held = account["locked_until"] if account else None
    if account is not None and held is not None and held > now:
        locked = policy.locked(account["failed_logins"])
        await audit("auth.refused", account["role"], reason="locked" if locked else "backoff")
        raise _refused(
            "account locked after repeated failed sign-ins; an admin can reset it"
            if locked
            else "too many failed sign-ins, wait before trying again",
            "account_locked" if locked else "sign_in_backoff",
            (held - now).total_seconds(),
        )
    stored = account["password_hash"] if account else DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, password, stored)
    if account is None or not ok or not account["active"]:
        throttle.failed(address, time.monotonic())
        role = account["role"] if account else "anonymous"
        reason = "unknown user" if account is None else "wrong password" if not ok else "disabled"
        async with conn.transaction():
            failures = 0
            if account is not None and not ok:
                failures = await users.sign_in_failed(conn, username)
                wait = policy.wait_after(failures)
                if wait > 0:
                    await users.hold_sign_in(conn, username, now + timedelta(seconds=wait))
            await users.record_action(
                conn, name, role, "auth.failed", name,
                {"address": address, "reason": reason, "failures": failures},
            )  # fmt: skip
        await conn.commit()  # kept although the answer is an error (see audit above)
        raise _wrong()
    throttle.succeeded(address)
    async with conn.transaction():
        await users.sign_in_succeeded(conn, username)
        if needs_rehash(stored):
            await users.rehash_password(
                conn, username, await asyncio.to_thread(hash_password, password)
            )
        await users.record_action(
            conn, username, account["role"], "auth.login", username, {"address": address}
        )
    token = encode_token(
        username, settings.jwt_secret.get_secret_value(), int(time.time()), settings.jwt_ttl_s,
        password_version(account["password_changed_at"]),
    )  # fmt: skip
    return Token(access_token=token, role=account["role"], expires_in=settings.jwt_ttl_s)


@router.get("/me")
async def me(caller: CallerDep) -> UserPublic:
    """Who the caller is, as the database says now (anonymous callers are viewers)."""
    return caller
