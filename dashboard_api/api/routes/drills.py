"""Drills (citypulse/cli/drill.py): which ones the database holds, and one drill's
incident record with its simulated times. Read-only; the live city's tables are not read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from alerts import operations
from dashboard_api.api.deps import ConnDep, OperatorDep
from dashboard_api.schemas.drills import DrillRecord, DrillSummary
from dashboard_api.store.drills import NoSuchDrill, drill_ids, in_drill

router = APIRouter(prefix="/api/v1/drills", tags=["drills"])
DrillId = Annotated[str, Path(max_length=16, pattern=r"^[a-z0-9]{1,16}$")]
RECORD_LIMIT = 200  # alerts in one incident record


@router.get("", response_model=list[DrillSummary])
async def list_drills(conn: ConnDep, _caller: OperatorDep) -> list[dict[str, Any]]:
    """Every drill in the database, with its alert counts."""
    out = []
    for drill_id in await drill_ids(conn):
        try:
            async with in_drill(conn, drill_id):
                alerts = await operations.list_alerts(conn, limit=1000)
        except NoSuchDrill:
            continue  # dropped in between
        still_open = [a for a in alerts if a["status"] in ("open", "acknowledged")]
        out.append({"id": drill_id, "alerts": len(alerts), "open": len(still_open)})
    return out


@router.get("/{drill_id}", response_model=DrillRecord)
async def drill_record(drill_id: DrillId, conn: ConnDep, _caller: OperatorDep) -> dict[str, Any]:
    """A drill's incident record for the debrief: its alerts, oldest first, each with its
    audit trail and texts (numbers masked); times are the drill's simulated times."""
    try:
        async with in_drill(conn, drill_id):
            listed = await operations.list_alerts(conn, limit=RECORD_LIMIT)
            alerts = [
                await operations.get_alert(conn, int(a["id"]))
                for a in sorted(listed, key=lambda a: int(a["id"]))
            ]
    except NoSuchDrill:
        raise HTTPException(404, f"no drill {drill_id}") from None
    return {"id": drill_id, "alerts": alerts}
