"""Alerts for operators: list, detail, acknowledge, resolve, comment; silences."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from alerts import operations
from alerts.exceptions import AlertNotFound, InvalidSilence, InvalidTransition
from dashboard_api.api.acting import LIVE, Where
from dashboard_api.api.audit import audited
from dashboard_api.api.deps import (
    AreaRowsDep,
    ConnDep,
    OperatorDep,
    district_of,
    require_district,
)
from dashboard_api.schemas.auth import UserPublic
from dashboard_api.schemas.operations import (
    AcknowledgeCreate,
    CommentCreate,
    ResolveCreate,
    SilenceCreate,
)
from dashboard_api.schemas.responses import AlertDetail, AlertOut, SilenceOut

router = APIRouter(prefix="/api/v1", tags=["alerts"])
Operator = OperatorDep
AreaRows = AreaRowsDep
Status = Literal["open", "acknowledged", "resolved", "auto_resolved"]


Alert = dict[str, Any]


class AlertChange(Protocol):
    def __call__(
        self, conn: ConnDep, alert_id: int, actor: str, text: str, /, *, now: datetime | None = None
    ) -> Awaitable[Alert]: ...


_AUDITED_AS: dict[AlertChange, str] = {
    operations.acknowledge_alert: "alert.acknowledge",
    operations.resolve_alert: "alert.resolve",
    operations.comment_alert: "alert.comment",
}


def _code(code: str) -> dict[str, str]:
    """A stable error code the dashboard translates (ko/en); the detail stays English."""
    return {"X-Error-Code": code}


async def _act(
    conn: ConnDep,
    caller: UserPublic,
    alert_id: int,
    body: BaseModel,
    change: AlertChange,
    text: str,
    where: Where = LIVE,
) -> Alert:
    """One alert change by `caller` (with `text`: note, reason or comment) and its audit
    line, in one transaction, in the live city or a drill (`where`: its simulated time);
    domain errors as 404 and 409."""
    data = where.audit(body.model_dump())
    try:
        async with audited(conn, caller, _AUDITED_AS[change], str(alert_id), data, where.at):
            return await change(conn, alert_id, caller.username, text, now=where.at)
    except AlertNotFound:
        raise HTTPException(404, f"no alert {alert_id}", _code("alert_not_found")) from None
    except InvalidTransition as exc:
        raise HTTPException(409, str(exc), _code("invalid_transition")) from None


async def _in_districts(conn: ConnDep, caller: UserPublic, rows: AreaRows, alert_id: int) -> None:
    """403 unless the caller may act on this alert's district (a district's operator
    sees the whole city but acts only on its own districts)."""
    if caller.may_act_in(None):
        return  # admins and city-wide accounts: no need to look the alert up
    try:
        alert = await operations.get_alert(conn, alert_id)
    except AlertNotFound:
        raise HTTPException(404, f"no alert {alert_id}", _code("alert_not_found")) from None
    require_district(caller, district_of(rows, alert["area_code"]), f"alert {alert_id}")


@router.get("/alerts", response_model=list[AlertOut])
async def list_alerts(
    conn: ConnDep,
    _caller: OperatorDep,
    status: Annotated[list[Status] | None, Query()] = None,
    area_code: Annotated[str | None, Query(pattern=r"^POI[0-9]{3}$")] = None,
    district: Annotated[str | None, Query(max_length=40)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Alerts, newest change first, filtered by status, area, district and last change."""
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, "since needs a zone offset")
    return await operations.list_alerts(
        conn,
        status=list(status) if status else None,
        area_code=area_code,
        district=district,
        since=since,
        limit=limit,
    )


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
async def get_alert(alert_id: int, conn: ConnDep, _caller: OperatorDep) -> dict[str, Any]:
    """One alert with its audit trail and the SMS sent for it (numbers masked)."""
    try:
        return await operations.get_alert(conn, alert_id)
    except AlertNotFound:
        raise HTTPException(404, f"no alert {alert_id}") from None


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertDetail)
async def acknowledge(
    alert_id: int, body: AcknowledgeCreate, db: ConnDep, who: Operator, rows: AreaRows
) -> Alert:
    """Acknowledge an open alert: stops escalation and reminders."""
    return await acknowledge_as(db, who, rows, alert_id, body, LIVE)


async def acknowledge_as(
    db: ConnDep, who: UserPublic, rows: AreaRows, alert_id: int, body: AcknowledgeCreate,
    where: Where,
) -> Alert:  # fmt: skip
    """The acknowledgement, live or in a drill (routes/drills.py): same checks, same path."""
    await _in_districts(db, who, rows, alert_id)
    return await _act(db, who, alert_id, body, operations.acknowledge_alert, body.note, where)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertDetail)
async def resolve(
    alert_id: int, body: ResolveCreate, db: ConnDep, who: Operator, rows: AreaRows
) -> Alert:
    """Resolve an alert with a reason; the notified tiers hear it is over."""
    await _in_districts(db, who, rows, alert_id)
    return await _act(db, who, alert_id, body, operations.resolve_alert, body.reason)


@router.post("/alerts/{alert_id}/comment", response_model=AlertDetail)
async def comment(alert_id: int, body: CommentCreate, db: ConnDep, who: Operator) -> Alert:
    """Add a comment to an alert's trail."""
    return await _act(db, who, alert_id, body, operations.comment_alert, body.text)


@router.get("/silences", response_model=list[SilenceOut])
async def list_silences(
    conn: ConnDep, _caller: OperatorDep, active_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Silences, newest first, or those active at `active_at`."""
    return await operations.list_silences(conn, active_at=active_at)


@router.post("/silences", status_code=201, response_model=SilenceOut)
async def create_silence(
    body: SilenceCreate, conn: ConnDep, caller: OperatorDep, rows: AreaRows
) -> dict[str, Any]:
    """Silence texts up to 경계 for an area or district during a planned event."""
    district = district_of(rows, body.area_code) if body.area_code else body.district
    require_district(caller, district, "the silence")
    data = body.model_dump(mode="json")
    try:
        async with audited(conn, caller, "silence.create", data=data) as line:
            silence = await operations.create_silence(
                conn, area_code=body.area_code, district=body.district, rule=body.rule,
                starts_at=body.starts_at, ends_at=body.ends_at, created_by=caller.username,
                reason=body.reason,
            )  # fmt: skip
            line.target = str(silence.get("id", ""))
    except InvalidSilence as exc:
        raise HTTPException(422, str(exc), _code("invalid_silence")) from None
    return silence
