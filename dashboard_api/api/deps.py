"""Annotated dependencies shared by the routes: settings, database, hub, the caller."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from dashboard_api.core.config import ApiSettings, get_api_settings
from dashboard_api.core.security import TokenError, decode_token, password_version
from dashboard_api.live.hub import AreaStateHub
from dashboard_api.schemas.auth import ROLE_RANK, UserPublic
from dashboard_api.store.users import find_account

ANONYMOUS = UserPublic(username="anonymous", role="viewer")
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _pool(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


def _hub(request: Request) -> AreaStateHub:
    hub: AreaStateHub = request.app.state.hub
    return hub


SettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]
PoolDep = Annotated[AsyncConnectionPool, Depends(_pool)]
HubDep = Annotated[AreaStateHub, Depends(_hub)]


async def _connection(pool: PoolDep) -> AsyncIterator[AsyncConnection[Any]]:
    async with pool.connection() as conn:
        yield conn


ConnDep = Annotated[AsyncConnection[Any], Depends(_connection)]


async def user_from_token(
    token: str | None, settings: ApiSettings, pool: AsyncConnectionPool
) -> UserPublic | None:
    """The enabled account a bearer token names, as the database has it now (role,
    agency, districts); None when the token is absent, invalid or older than the
    account's password, or the account is gone or disabled."""
    if not token:
        return None
    try:
        claims = decode_token(token, settings.jwt_secret.get_secret_value())
    except TokenError:
        return None
    async with pool.connection() as conn:
        account = await find_account(conn, claims["sub"])
    if account is None or not account["active"]:
        return None
    if claims["pwv"] != password_version(account["password_changed_at"]):
        return None  # issued under an earlier password (reset since)
    return UserPublic(
        username=account["username"],
        role=account["role"],
        display_name=account["display_name"],
        agency=account["agency"],
        districts=list(account["districts"]),
    )


async def _caller(
    settings: SettingsDep, pool: PoolDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> UserPublic:
    if token is None:
        return ANONYMOUS
    user = await user_from_token(token, settings, pool)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid or expired token, or the account is disabled",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CallerDep = Annotated[UserPublic, Depends(_caller)]


def require_role(role: str) -> Callable[[UserPublic], Awaitable[UserPublic]]:
    async def check(caller: CallerDep) -> UserPublic:
        if caller is ANONYMOUS:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "sign in required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if ROLE_RANK[caller.role] < ROLE_RANK[role]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{role} role required")
        return caller

    return check


OperatorDep = Annotated[UserPublic, Depends(require_role("operator"))]
AdminDep = Annotated[UserPublic, Depends(require_role("admin"))]


AREA_CACHE_S = 60.0  # the registry changes on `citypulse areas import`, not per request


async def _area_rows(request: Request, conn: ConnDep) -> list[dict[str, Any]]:
    from dashboard_api.store.areas import list_areas

    cached: tuple[float, list[dict[str, Any]]] | None = getattr(
        request.app.state, "area_rows", None
    )
    if cached is not None and time.monotonic() - cached[0] < AREA_CACHE_S:
        return cached[1]
    rows = await list_areas(conn)
    request.app.state.area_rows = (time.monotonic(), rows)
    return rows


AreaRowsDep = Annotated[list[dict[str, Any]], Depends(_area_rows)]


def district_of(rows: list[dict[str, Any]], area_code: str) -> str | None:
    """The district an area is in, from the registry rows; None for an unknown area."""
    return next((r["district"] for r in rows if r["code"] == area_code), None)


def require_district(caller: UserPublic, district: str | None, what: str) -> None:
    """403 unless the caller may act in `district` (None: unknown, or several)."""
    if not caller.may_act_in(district):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{what} is outside your districts",
            headers={"X-Error-Code": "outside_districts"},
        )
