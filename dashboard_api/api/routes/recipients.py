"""Who gets the alert SMS: operators read the list (numbers masked), admins manage it.

Admins see and set full numbers; every change is audited naming the admin, with the
number masked in the audit line. The worker re-reads the table every few seconds
(CITYPULSE_ALERT_SYNC_S), so a change reaches the alert path without a restart.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from alerts.tables import recipients as recipient_table
from citypulse.domain.phones import mask_phone
from dashboard_api.api.audit import audited
from dashboard_api.api.deps import AdminDep, AreaRowsDep, ConnDep, OperatorDep
from dashboard_api.present import contains_phone
from dashboard_api.schemas.recipients import RecipientCreate, RecipientPublic, RecipientUpdate

router = APIRouter(prefix="/api/v1/recipients", tags=["admin"])
RecipientId = Annotated[int, Path(ge=1, le=2**62)]


def _public(row: dict[str, Any], *, full: bool) -> RecipientPublic:
    fields = {k: v for k, v in row.items() if k != "phone_e164"}
    return RecipientPublic(
        **fields,
        phone_masked=mask_phone(row["phone_e164"]),
        phone=row["phone_e164"] if full else None,
    )


def _columns(body: RecipientCreate | RecipientUpdate) -> dict[str, Any]:
    """The body's set fields as table columns (phone -> phone_e164)."""
    data = body.model_dump(exclude_unset=isinstance(body, RecipientUpdate))
    if "phone" in data:
        data["phone_e164"] = data.pop("phone")
    return data


def _audit_data(columns: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in columns.items() if k != "phone_e164"}
    if "phone_e164" in columns:
        data["phone"] = mask_phone(columns["phone_e164"])
    return data


def _check(columns: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """422 for what the schema cannot know: the registry's districts and areas, a name or
    group that is a number (both reach audit lines and non-admin responses)."""
    if any(contains_phone(text) for text in [columns.get("name", ""), *columns.get("groups", [])]):
        raise HTTPException(422, "a recipient's name or group must not be a phone number")
    districts = {r["district"] for r in rows}
    unknown = [d for d in columns.get("districts", []) if d not in districts]
    if unknown:
        raise HTTPException(422, f"unknown district: {unknown[0]}")
    codes = {r["code"] for r in rows}
    unknown = [a for a in columns.get("areas", []) if a not in codes]
    if unknown:
        raise HTTPException(422, f"unknown area: {unknown[0]}")


def _check_quiet(row: dict[str, Any]) -> None:
    if row["role"] == "technical" and row["quiet_from"] is not None:
        raise HTTPException(
            422, "technical (on-call) recipients have no quiet hours: they are texted at any hour"
        )


@router.get("")
async def list_recipients(conn: ConnDep, caller: OperatorDep) -> list[RecipientPublic]:
    """Who gets the alert SMS, by tier; full numbers for admins, masked for operators."""
    full = caller.role == "admin"
    return [_public(r, full=full) for r in await recipient_table.listing(conn)]


@router.post("", status_code=201)
async def create_recipient(
    body: RecipientCreate, rows: AreaRowsDep, conn: ConnDep, caller: AdminDep
) -> RecipientPublic:
    """Add a recipient. A Korean mobile number in any usual form is stored as E.164;
    no districts and no areas: the whole city."""
    columns = _columns(body)
    _check(columns, rows)
    async with audited(conn, caller, "recipient.create", data=_audit_data(columns)) as line:
        row = await recipient_table.create(conn, columns)
        line.target = str(row["id"])
    return _public(row, full=True)


@router.patch("/{recipient_id}")
async def update_recipient(
    recipient_id: RecipientId,
    body: RecipientUpdate,
    rows: AreaRowsDep,
    conn: ConnDep,
    caller: AdminDep,
) -> RecipientPublic:
    """Change some fields of a recipient; quiet hours are set or cleared (null) together."""
    columns = _columns(body)
    _check(columns, rows)
    data = _audit_data(columns)
    async with audited(conn, caller, "recipient.update", str(recipient_id), data):
        current = await recipient_table.update(conn, recipient_id, {})
        if current is None:
            raise HTTPException(404, f"no recipient {recipient_id}")
        _check_quiet({**current, **columns})  # a role change may meet old quiet hours
        row = await recipient_table.update(conn, recipient_id, columns)
        if row is None:
            raise HTTPException(404, f"no recipient {recipient_id}")
    return _public(row, full=True)


async def _set_active(conn: ConnDep, caller: AdminDep, recipient_id: int, active: bool) -> None:
    action = "recipient.enable" if active else "recipient.disable"
    async with audited(conn, caller, action, str(recipient_id)):
        if not await recipient_table.set_active(conn, recipient_id, active):
            raise HTTPException(404, f"no recipient {recipient_id}")


@router.post("/{recipient_id}/disable", status_code=204)
async def disable_recipient(recipient_id: RecipientId, conn: ConnDep, caller: AdminDep) -> None:
    """Stop texting a recipient (kept for the record: past messages still name them)."""
    await _set_active(conn, caller, recipient_id, False)


@router.post("/{recipient_id}/enable", status_code=204)
async def enable_recipient(recipient_id: RecipientId, conn: ConnDep, caller: AdminDep) -> None:
    """Text a disabled recipient again."""
    await _set_active(conn, caller, recipient_id, True)
