"""Annotated dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from dashboard_api.core.config import ApiSettings, get_api_settings
from dashboard_api.live.hub import AreaStateHub


def _pool(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


def _hub(request: Request) -> AreaStateHub:
    hub: AreaStateHub = request.app.state.hub
    return hub


SettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]
PoolDep = Annotated[AsyncConnectionPool, Depends(_pool)]
HubDep = Annotated[AreaStateHub, Depends(_hub)]
