"""Drills (citypulse/cli/drill.py): which ones the database holds, one drill's incident
record with its simulated times, and operators acting in a drill: acknowledging its
alerts and ticking their playbook actions. Every read and write runs in the drill's
schema (store/drills.py `in_drill`: an unknown drill is a 404 before any of them) through
the live routes' own code (alerts.py, playbooks.py, records.py) with the drill's
simulated time (api/acting.py); the live city's tables are neither read nor written."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Response

from alerts import operations
from dashboard_api.api.acting import acting_in
from dashboard_api.api.deps import ConnDep, OperatorDep
from dashboard_api.api.routes import alerts as alert_routes
from dashboard_api.api.routes import playbooks as playbook_routes
from dashboard_api.api.routes import records as record_routes
from dashboard_api.schemas.drills import DrillRecord, DrillSummary
from dashboard_api.schemas.operations import AcknowledgeCreate
from dashboard_api.schemas.playbooks import AlertPlaybookOut, TickCreate
from dashboard_api.schemas.records import RecordOut
from dashboard_api.schemas.responses import AlertDetail
from dashboard_api.store.drills import NoSuchDrill, drill_ids, in_drill
from dashboard_api.store.users import actions_on_alerts

router = APIRouter(prefix="/api/v1/drills", tags=["drills"])
DrillId = Annotated[str, Path(max_length=16, pattern=r"^[a-z0-9]{1,16}$")]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RECORD_LIMIT = 200  # alerts in one incident record
Download = Literal["csv", "pdf"]


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
    audit trail and texts (numbers masked), and what operators did in the drill
    (acknowledgements, playbook ticks: their operator audit lines, with the wall time
    beside); times are the drill's simulated times."""
    try:
        async with in_drill(conn, drill_id):
            listed = await operations.list_alerts(conn, limit=RECORD_LIMIT)
            alerts = [
                await operations.get_alert(conn, int(a["id"]))
                for a in sorted(listed, key=lambda a: int(a["id"]))
            ]
            actions = await actions_on_alerts(conn, [int(a["id"]) for a in alerts])
    except NoSuchDrill:
        raise HTTPException(404, f"no drill {drill_id}", {"X-Error-Code": "no_drill"}) from None
    return {"id": drill_id, "alerts": alerts, "actions": actions}


@router.post("/{drill_id}/alerts/{alert_id}/acknowledge", response_model=AlertDetail)
async def acknowledge(
    drill_id: DrillId, alert_id: AlertId, body: AcknowledgeCreate, conn: ConnDep, who: OperatorDep
) -> dict[str, Any]:
    """Acknowledge a drill's alert, as live (operators in the alert's district), at the
    drill's simulated time; the operator audit line says it was this drill."""
    async with acting_in(conn, drill_id) as (where, rows):
        return await alert_routes.acknowledge_as(conn, who, rows, alert_id, body, where)


@router.get("/{drill_id}/alerts/{alert_id}/playbook", response_model=AlertPlaybookOut)
async def playbook(
    drill_id: DrillId, alert_id: AlertId, conn: ConnDep, who: OperatorDep
) -> dict[str, Any]:
    """A drill alert's checklist with its ticks (the drill's playbooks and ticks)."""
    async with acting_in(conn, drill_id) as (_, rows):
        return await playbook_routes.playbook_of(conn, who, rows, alert_id)


@router.post("/{drill_id}/alerts/{alert_id}/playbook/ticks", response_model=AlertPlaybookOut)
async def tick(
    drill_id: DrillId, alert_id: AlertId, body: TickCreate, conn: ConnDep, who: OperatorDep
) -> dict[str, Any]:
    """Tick (or untick) an action of a drill alert's playbook, as live, at the drill's
    simulated time; the operator audit names the person and the drill."""
    async with acting_in(conn, drill_id) as (where, rows):
        return await playbook_routes.tick_as(conn, who, rows, alert_id, body, where)


@router.get("/{drill_id}/alerts/{alert_id}/record", response_model=RecordOut)
async def record(
    drill_id: DrillId, alert_id: AlertId, conn: ConnDep, who: OperatorDep
) -> dict[str, Any]:
    """A drill alert's incident record, as live records are made (dashboard_api/record),
    in the drill's simulated time."""
    async with acting_in(conn, drill_id) as (where, rows):
        found = await record_routes.alert_record_of(conn, alert_id, who, rows, where.at)
    return found.public()


@router.get(
    "/{drill_id}/alerts/{alert_id}/record.{suffix}",
    response_class=Response,
    responses={**record_routes.CSV, **record_routes.PDF},
)
async def record_download(
    drill_id: DrillId, alert_id: AlertId, suffix: Download, conn: ConnDep, who: OperatorDep
) -> Response:
    """The drill alert's record as CSV or a printable PDF, for the debrief."""
    async with acting_in(conn, drill_id) as (where, rows):
        found = await record_routes.alert_record_of(conn, alert_id, who, rows, where.at)
    return await record_routes.record_file(found, suffix)
