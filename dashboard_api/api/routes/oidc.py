"""Sign-in through the city's identity provider (OIDC), off unless CITYPULSE_OIDC_ISSUER
is set. The provider says who the person is; CityPulse's own accounts table says whether
they may sign in and with what role, agency and districts: an admin links an account to
the provider's subject (routes/users.py), and nothing is created from the provider.

1. GET /login: a pending sign-in (state, nonce, PKCE verifier) in a signed cookie bound
   to this browser; the browser goes to the provider.
2. GET /callback: the state must match the cookie and be unspent (in the database, so a
   replay on another API process is caught too); the code is exchanged and the ID token
   verified (core/oidc.py); the linked, enabled account gets the same token a password
   sign-in gives. The token travels in a short-lived HttpOnly cookie, never in a URL.
3. POST /session: the page collects that token once (the cookie is cleared).

Every callback, good or bad, is audited like a password sign-in and failures count
toward the same per-address backoff.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse

from dashboard_api.api.deps import ConnDep, SettingsDep
from dashboard_api.api.routes.auth import _audit_name
from dashboard_api.core.addresses import client_address
from dashboard_api.core.config import ApiSettings
from dashboard_api.core.oidc import OidcClient, OidcError, Pending
from dashboard_api.core.security import (
    ALGORITHM,
    ISSUER,
    TokenError,
    decode_token,
    encode_token,
    password_version,
)
from dashboard_api.core.throttle import AddressThrottle
from dashboard_api.schemas.auth import OidcConfig, OidcSession
from dashboard_api.store import oidc_states, users

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/auth/oidc", tags=["auth"])
PENDING_COOKIE, PENDING_AUDIENCE, PENDING_TTL_S = "cp_oidc_pending", "citypulse-oidc", 600
HANDOFF_COOKIE, HANDOFF_TTL_S = "cp_oidc_token", 60
CALLBACK_PATH = "/api/v1/auth/oidc/callback"
SESSION_PATH = "/api/v1/auth/oidc/session"
MAX_PARAM = 2048  # an authorization code or state longer than this is not one
Refuse = Callable[..., Awaitable[RedirectResponse]]


def _enabled(settings: ApiSettings) -> None:
    if not settings.oidc_enabled:
        raise HTTPException(
            404, "sign-in through an identity provider is not configured",
            {"X-Error-Code": "oidc_off"},
        )  # fmt: skip


def _client(request: Request, settings: ApiSettings) -> OidcClient:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:  # made on first use: nothing reaches the provider at start
        client = request.app.state.oidc = OidcClient(settings)
    return client


def _redirect_uri(request: Request, settings: ApiSettings) -> str:
    return settings.oidc_redirect_url or str(request.base_url).rstrip("/") + CALLBACK_PATH


def _address(request: Request) -> str:
    return client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        request.app.state.trusted_proxies,
    )


def _to_page(fragment: str) -> RedirectResponse:
    # The result goes in the fragment: a browser never sends it, so no log has it.
    response = RedirectResponse(f"/#{fragment}", status.HTTP_303_SEE_OTHER)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("")
async def oidc_config(settings: SettingsDep) -> OidcConfig:
    """Whether the page offers sign-in through the city's identity provider."""
    return OidcConfig(enabled=settings.oidc_enabled, label=settings.oidc_button_label)


@router.get("/login", status_code=302, response_class=RedirectResponse)
async def oidc_login(request: Request, settings: SettingsDep) -> RedirectResponse:
    """Start a sign-in: redirects the browser to the city's identity provider."""
    _enabled(settings)
    throttle: AddressThrottle = request.app.state.address_throttle
    if throttle.retry_after(_address(request), time.monotonic()) > 0:
        return _to_page("oidc_error=throttled")
    pending = Pending.new()
    redirect_uri = _redirect_uri(request, settings)
    try:
        url = await _client(request, settings).authorization_url(redirect_uri, pending)
    except OidcError as exc:
        log.warning("identity provider unavailable: %s", exc)
        return _to_page("oidc_error=idp_error")
    now = int(time.time())
    cookie = jwt.encode(
        {"st": pending.state, "nn": pending.nonce, "cv": pending.code_verifier,
         "iss": ISSUER, "aud": PENDING_AUDIENCE, "exp": now + PENDING_TTL_S},
        settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM,
    )  # fmt: skip
    response = RedirectResponse(url, status.HTTP_302_FOUND)
    # Lax: the provider's redirect back is a cross-site top-level GET, which Lax allows.
    response.set_cookie(
        PENDING_COOKIE, cookie, max_age=PENDING_TTL_S, path=CALLBACK_PATH, httponly=True,
        secure=redirect_uri.startswith("https://"), samesite="lax",
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


def _pending(cookie: str | None, secret: str) -> Pending | None:
    if not cookie or len(cookie) > 4096:
        return None
    try:
        claims = jwt.decode(
            cookie, secret, algorithms=[ALGORITHM], audience=PENDING_AUDIENCE, issuer=ISSUER,
            options={"require": ["exp", "st", "nn", "cv"]},
        )  # fmt: skip
    except jwt.PyJWTError:
        return None
    parts = (claims["st"], claims["nn"], claims["cv"])
    return Pending(*parts) if all(isinstance(p, str) for p in parts) else None


@router.get("/callback", status_code=303, response_class=RedirectResponse)
async def oidc_callback(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    """The identity provider sends the browser back here; on success the page signs in."""
    _enabled(settings)
    throttle: AddressThrottle = request.app.state.address_throttle
    address = _address(request)
    secret = settings.jwt_secret.get_secret_value()

    async def audit(action: str, actor: str, role: str, **data: Any) -> None:
        data = {"address": address, "method": "oidc", **data}
        await users.record_action(conn, actor, role, action, actor, data)
        await conn.commit()  # kept although the answer is a refusal

    async def refuse(reason: str, actor: str = "anonymous", role: str = "anonymous",
                     detail: str = "") -> RedirectResponse:  # fmt: skip
        throttle.failed(address, time.monotonic())
        extra = {"detail": detail} if detail else {}
        await audit("auth.failed", actor, role, reason=reason, **extra)
        response = _to_page(f"oidc_error={reason.replace(' ', '_')}")
        response.delete_cookie(PENDING_COOKIE, path=CALLBACK_PATH)
        return response

    if throttle.retry_after(address, time.monotonic()) > 0:
        await audit("auth.refused", "anonymous", "anonymous", reason="address backoff")
        return _to_page("oidc_error=throttled")
    if error is not None:  # the provider refused (the person cancelled, no consent, ...)
        return await refuse("idp error", detail=_audit_name(error))
    pending = _pending(request.cookies.get(PENDING_COOKIE), secret)
    if not code or not state or len(code) > MAX_PARAM or len(state) > MAX_PARAM:
        return await refuse("bad state", detail="missing code or state")
    if pending is None or not _same(state, pending.state):
        return await refuse("bad state", detail="no pending sign-in in this browser")
    if not await oidc_states.spend_state(conn, pending.state):
        return await refuse("bad state", detail="replayed")
    await conn.commit()  # spent for good, whatever follows
    redirect_uri = _redirect_uri(request, settings)
    try:
        claims = await _client(request, settings).sign_in(code, redirect_uri, pending)
    except OidcError as exc:
        return await refuse(exc.reason, detail=exc.detail)
    account = await _linked_account(claims, conn, settings, refuse)
    if isinstance(account, RedirectResponse):
        return account
    throttle.succeeded(address)
    await audit("auth.login", account["username"], account["role"])
    token = encode_token(
        account["username"], secret, int(time.time()), settings.jwt_ttl_s,
        password_version(account["password_changed_at"]),
    )  # fmt: skip
    response = _to_page("oidc=signed-in")
    response.delete_cookie(PENDING_COOKIE, path=CALLBACK_PATH)
    response.set_cookie(
        HANDOFF_COOKIE, token, max_age=HANDOFF_TTL_S, path=SESSION_PATH, httponly=True,
        secure=redirect_uri.startswith("https://"), samesite="strict",
    )  # fmt: skip
    return response


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def _linked_account(
    claims: dict[str, Any], conn: ConnDep, settings: ApiSettings, refuse: Refuse
) -> dict[str, Any] | RedirectResponse:
    """The enabled account an admin linked to what the provider proved, or the refusal."""
    claim = settings.oidc_account_claim
    subject = claims.get(claim)
    if not isinstance(subject, str) or not 1 <= len(subject) <= 255:
        return await refuse("unknown subject", detail=f"no {claim[:40]} claim")
    if claim == "email" and claims.get("email_verified") is False:
        return await refuse("unknown subject", _audit_name(subject), detail="email not verified")
    account = await users.find_account_by_oidc(conn, subject)
    if account is None:
        return await refuse("unknown subject", _audit_name(subject))
    if not account["active"]:
        return await refuse("disabled", account["username"], account["role"])
    return account


@router.post("/session")
async def oidc_session(
    request: Request, response: Response, conn: ConnDep, settings: SettingsDep
) -> OidcSession:
    """Collect, once, the token an identity-provider sign-in just earned (HttpOnly cookie)."""
    _enabled(settings)
    token = request.cookies.get(HANDOFF_COOKIE, "")
    response.delete_cookie(HANDOFF_COOKIE, path=SESSION_PATH)
    try:
        claims = decode_token(token, settings.jwt_secret.get_secret_value())
    except TokenError:
        raise HTTPException(401, "no identity-provider sign-in to collect") from None
    account = await users.find_account(conn, claims["sub"])
    if (
        account is None
        or not account["active"]
        or claims["pwv"] != password_version(account["password_changed_at"])
    ):
        raise HTTPException(401, "the account is disabled or changed since")
    return OidcSession(
        access_token=token,
        role=account["role"],
        expires_in=max(0, int(claims["exp"]) - int(time.time())),
        username=account["username"],
    )
