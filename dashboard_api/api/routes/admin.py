"""Admin-only reads: SMS recipients (numbers masked) and the operator audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from citypulse.domain.phones import mask_phone
from dashboard_api.api.deps import AdminDep, ConnDep
from dashboard_api.schemas.operations import RecipientPublic
from dashboard_api.schemas.responses import OperatorAction
from dashboard_api.store.operations import recipients
from dashboard_api.store.users import list_actions

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/recipients")
async def list_recipients(conn: ConnDep, _caller: AdminDep) -> list[RecipientPublic]:
    """Who gets the alert SMS, by tier; phone numbers masked to the last four digits."""
    return [
        RecipientPublic(
            **{k: v for k, v in r.items() if k != "phone_e164"},
            phone_masked=mask_phone(r["phone_e164"]),
        )
        for r in await recipients(conn)
    ]


@router.get("/audit", response_model=list[OperatorAction])
async def audit(
    conn: ConnDep, _caller: AdminDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict[str, Any]]:
    """The newest operator and admin actions, newest first."""
    return await list_actions(conn, limit)
