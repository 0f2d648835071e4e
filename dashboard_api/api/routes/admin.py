"""Admin-only reads: the operator audit trail. (Recipients: routes/recipients.py.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dashboard_api.api.deps import AdminDep, ConnDep
from dashboard_api.schemas.responses import OperatorAction
from dashboard_api.store.users import list_actions

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/audit", response_model=list[OperatorAction])
async def audit(
    conn: ConnDep, _caller: AdminDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict[str, Any]]:
    """The newest operator and admin actions, newest first."""
    return await list_actions(conn, limit)
