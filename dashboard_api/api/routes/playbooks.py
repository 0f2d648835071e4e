"""Playbooks (대응 매뉴얼): the checklists admins edit, each alert's checklist with its
ticks, and operators ticking actions (audited as `playbook.tick` / `playbook.untick`)."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, HTTPException

from alerts import operations
from alerts.exceptions import AlertNotFound
from alerts.playbooks import (
    AREA_TYPES,
    PLAYBOOK_STAGES,
    AreaType,
    PlaybookAction,
    PlaybookBook,
    PlaybookError,
    area_type_for,
    checked_actions,
)
from alerts.tables import playbooks as playbook_table
from citypulse.domain.stages import Stage
from dashboard_api.api.acting import LIVE, Where
from dashboard_api.api.audit import audited
from dashboard_api.api.deps import AdminDep, AreaRowsDep, ConnDep, OperatorDep, require_district
from dashboard_api.schemas.auth import UserPublic
from dashboard_api.schemas.playbooks import (
    AlertPlaybookOut,
    ChecklistIn,
    ChecklistOut,
    PlaybooksOut,
    PlaybookStage,
    TickCreate,
)
from dashboard_api.store.areas import list_zones

router = APIRouter(prefix="/api/v1", tags=["playbooks"])


def _code(code: str) -> dict[str, str]:
    return {"X-Error-Code": code}


def _action_out(a: PlaybookAction) -> dict[str, Any]:
    return {
        "key": a.key,
        "position": a.position,
        "agency": a.agency,
        "text_ko": a.text_ko,
        "text_en": a.text_en,
    }


def _checklist(book: PlaybookBook, stage: Stage, area_type: AreaType) -> dict[str, Any]:
    return {
        "stage": stage.wire_name,
        "area_type": area_type,
        "actions": [_action_out(a) for a in book.own(stage, area_type)],
    }


@router.get("/playbooks", response_model=PlaybooksOut)
async def list_playbooks(conn: ConnDep, _caller: OperatorDep) -> dict[str, Any]:
    """Every stage and area type's checklist; an empty one falls back to `default`."""
    book = await playbook_table.load_book(conn)
    return {
        "stages": [s.wire_name for s in PLAYBOOK_STAGES],
        "area_types": list(AREA_TYPES),
        "checklists": [_checklist(book, s, t) for s in PLAYBOOK_STAGES for t in AREA_TYPES],
    }


@router.put("/playbooks/{stage}/{area_type}", response_model=ChecklistOut)
async def put_playbook(
    stage: PlaybookStage,
    area_type: AreaType,
    body: ChecklistIn,
    conn: ConnDep,
    caller: AdminDep,
) -> dict[str, Any]:
    """Replace one stage and area type's checklist (admins); the order given is kept.
    Keys are unique across all checklists; an empty list falls back to `default`."""
    st = Stage.from_name(stage)
    items = [(a.key, a.agency, a.text_ko, a.text_en) for a in body.actions]
    try:
        actions = checked_actions(st, area_type, items)
    except PlaybookError as exc:
        raise HTTPException(422, str(exc), _code("invalid_playbook")) from None
    taken = await playbook_table.keys_elsewhere(conn, st, area_type, [a.key for a in actions])
    if taken:
        raise HTTPException(
            409, f"keys used by another checklist: {', '.join(taken)}", _code("playbook_key_taken")
        )
    data = {"actions": [_action_out(a) for a in actions]}
    async with audited(conn, caller, "playbook.update", f"{stage}/{area_type}", data):
        await playbook_table.replace_checklist(conn, st, area_type, actions, caller.username)
    return _checklist(PlaybookBook(actions), st, area_type)


async def _alert(conn: ConnDep, alert_id: int) -> dict[str, Any]:
    try:
        return await operations.get_alert(conn, alert_id)
    except AlertNotFound:
        raise HTTPException(404, f"no alert {alert_id}", _code("alert_not_found")) from None


async def _area_of(
    conn: ConnDep, rows: list[dict[str, Any]], alert: dict[str, Any]
) -> tuple[str | None, AreaType]:
    """The alert's district and its playbook area type (the zone's name first)."""
    area = next((r for r in rows if r["code"] == alert["area_code"]), None)
    zone_name = None
    if alert.get("zone_id") and area is not None:
        zones = await list_zones(conn, alert["area_code"])
        zone_name = next((z["name"] for z in zones if z["zone_id"] == alert["zone_id"]), None)
    category = str(area["category"]) if area else ""
    district = cast(str | None, area["district"]) if area else None
    return district, area_type_for(category, alert["area_code"], zone_name)


async def _alert_playbook(
    conn: ConnDep, rows: list[dict[str, Any]], alert: dict[str, Any], caller: UserPublic
) -> tuple[dict[str, Any], tuple[PlaybookAction, ...], str | None]:
    district, area_type = await _area_of(conn, rows, alert)
    stage = Stage.from_name(alert["stage"])
    actions = (await playbook_table.load_book(conn)).playbook(stage, area_type)
    ticks = await playbook_table.ticks_of_alert(conn, int(alert["id"]))
    state = playbook_table.tick_state(ticks)
    out = {
        "id": alert["id"],
        "alert_id": alert["alert_id"],
        "stage": stage.wire_name,
        "area_type": area_type,
        "may_tick": caller.may_act_in(district),
        "actions": [
            {
                **_action_out(a),
                "ticked": a.key in state,
                "ticked_by": state[a.key]["username"] if a.key in state else None,
                "ticked_by_name": state[a.key]["display_name"] if a.key in state else None,
                "ticked_at": state[a.key]["at"] if a.key in state else None,
            }
            for a in actions
        ],
        "history": ticks,
    }
    return out, actions, district


@router.get("/alerts/{alert_id}/playbook", response_model=AlertPlaybookOut)
async def alert_playbook(
    alert_id: int, conn: ConnDep, caller: OperatorDep, rows: AreaRowsDep
) -> dict[str, Any]:
    """The checklist for this alert's stage and area type, with what is ticked, by whom
    and when, and every tick and untick so far."""
    return await playbook_of(conn, caller, rows, alert_id)


async def playbook_of(
    conn: ConnDep, caller: UserPublic, rows: list[dict[str, Any]], alert_id: int
) -> dict[str, Any]:
    """An alert's checklist, live or in a drill (inside routes/drills.py's transaction)."""
    out, _, _ = await _alert_playbook(conn, rows, await _alert(conn, alert_id), caller)
    return out


@router.post("/alerts/{alert_id}/playbook/ticks", response_model=AlertPlaybookOut)
async def tick_action(
    alert_id: int, body: TickCreate, conn: ConnDep, caller: OperatorDep, rows: AreaRowsDep
) -> dict[str, Any]:
    """Tick (or, with `ticked: false`, untick) one action of the alert's checklist; the
    operator audit names the person. A district's operator ticks only in its districts."""
    return await tick_as(conn, caller, rows, alert_id, body, LIVE)


async def tick_as(
    conn: ConnDep, caller: UserPublic, rows: list[dict[str, Any]], alert_id: int,
    body: TickCreate, where: Where,
) -> dict[str, Any]:  # fmt: skip
    """The tick, live or in a drill (routes/drills.py: `where` has its simulated time)."""
    alert = await _alert(conn, alert_id)
    _, actions, district = await _alert_playbook(conn, rows, alert, caller)
    require_district(caller, district, f"alert {alert_id}")
    action = next((a for a in actions if a.key == body.action_key), None)
    if action is None:
        raise HTTPException(
            404, f"{body.action_key} is not in this alert's playbook", _code("action_not_found")
        )
    verb = "playbook.tick" if body.ticked else "playbook.untick"
    data = {
        "action_key": action.key, "text_ko": action.text_ko, "text_en": action.text_en,
        "agency": action.agency, "display_name": caller.display_name,
        "stage": action.stage.wire_name, "area_type": action.area_type,
    }  # fmt: skip
    async with audited(conn, caller, verb, str(alert_id), where.audit(data), where.at):
        await playbook_table.record_tick(
            conn, alert_id, action, body.ticked, caller.username, caller.display_name, where.at
        )
    out, _, _ = await _alert_playbook(conn, rows, alert, caller)
    return out
