"""Admins manage the per-person accounts: create, list, disable, enable, reset password.

Every change is audited with the admin's name; password rules apply to what an admin
sets (core/security.password_problem). No response carries a password hash.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, HTTPException, Path

from dashboard_api.api.audit import audited
from dashboard_api.api.deps import AdminDep, AreaRowsDep, ConnDep
from dashboard_api.core.security import hash_password, password_problem
from dashboard_api.present import contains_phone
from dashboard_api.schemas.auth import (
    USERNAME_PATTERN,
    AccountCreate,
    AccountOut,
    OidcLink,
    PasswordReset,
)
from dashboard_api.store import users

router = APIRouter(prefix="/api/v1/users", tags=["admin"])
Username = Annotated[str, Path(pattern=USERNAME_PATTERN)]


def _check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem is not None:
        raise HTTPException(422, problem, {"X-Error-Code": "weak_password"})


@router.get("", response_model=list[AccountOut])
async def list_users(conn: ConnDep, _caller: AdminDep) -> list[dict[str, Any]]:
    """Every account with its role, agency, districts and whether it is enabled or locked."""
    return await users.list_accounts(conn)


@router.post("", status_code=201, response_model=AccountOut)
async def create_user(
    body: AccountCreate, rows: AreaRowsDep, conn: ConnDep, caller: AdminDep
) -> dict[str, Any]:
    """Create an account. A district office's (agency `district`) needs its districts;
    an empty list lets the account act anywhere in the city."""
    if contains_phone(body.username) or contains_phone(body.display_name):
        raise HTTPException(422, "a username or display name must not be a phone number")
    _check_password(body.password, body.username)
    known = {r["district"] for r in rows}
    unknown = [d for d in body.districts if d not in known]
    if unknown:
        raise HTTPException(422, f"unknown district: {unknown[0]}")
    if body.agency == "district" and not body.districts:
        raise HTTPException(422, "a district office's account needs its districts")
    data = body.model_dump(exclude={"password"})
    password_hash = await asyncio.to_thread(hash_password, body.password)
    async with audited(conn, caller, "user.create", body.username, data):
        account = await users.create_account(
            conn, username=body.username, password_hash=password_hash, role=body.role,
            display_name=body.display_name, agency=body.agency, districts=body.districts,
        )  # fmt: skip
        if account is None:
            raise HTTPException(
                409, f"user {body.username} exists", {"X-Error-Code": "user_exists"}
            )
    return account


async def _set_active(conn: ConnDep, caller: AdminDep, username: str, active: bool) -> None:
    if not active and username == caller.username:
        raise HTTPException(409, "an admin cannot disable their own account")
    async with audited(conn, caller, "user.enable" if active else "user.disable", username):
        if not await users.set_active(conn, username, active):
            raise HTTPException(404, f"no user {username}")


@router.post("/{username}/disable", status_code=204)
async def disable_user(username: Username, conn: ConnDep, caller: AdminDep) -> None:
    """Disable an account: its tokens stop working at once, sign-in is refused."""
    await _set_active(conn, caller, username, False)


@router.post("/{username}/enable", status_code=204)
async def enable_user(username: Username, conn: ConnDep, caller: AdminDep) -> None:
    """Enable a disabled account again."""
    await _set_active(conn, caller, username, True)


@router.post("/{username}/password", status_code=204)
async def reset_password(
    username: Username, body: PasswordReset, conn: ConnDep, caller: AdminDep
) -> None:
    """Set a new password: lifts a sign-in lock and ends the tokens issued before."""
    _check_password(body.password, username)
    password_hash = await asyncio.to_thread(hash_password, body.password)
    async with audited(conn, caller, "user.reset_password", username):
        if not await users.set_password(conn, username, password_hash, now=datetime.now(UTC)):
            raise HTTPException(404, f"no user {username}")


@router.put("/{username}/oidc", status_code=204)
async def link_oidc(username: Username, body: OidcLink, conn: ConnDep, caller: AdminDep) -> None:
    """Link the account to the city identity provider's subject (the value of the claim
    CITYPULSE_OIDC_ACCOUNT_CLAIM names): that person may then sign in through it."""
    if contains_phone(body.subject):
        raise HTTPException(422, "a subject must not be a phone number")
    try:
        async with audited(conn, caller, "user.link_oidc", username, {"subject": body.subject}):
            if not await users.link_oidc(conn, username, body.subject):
                raise HTTPException(404, f"no user {username}")
    except psycopg.errors.UniqueViolation:
        raise HTTPException(
            409, "this subject is linked to another account", {"X-Error-Code": "oidc_linked"}
        ) from None


@router.delete("/{username}/oidc", status_code=204)
async def unlink_oidc(username: Username, conn: ConnDep, caller: AdminDep) -> None:
    """Unlink the account from the identity provider (password sign-in is unchanged)."""
    async with audited(conn, caller, "user.unlink_oidc", username):
        if not await users.link_oidc(conn, username, None):
            raise HTTPException(404, f"no user {username}")
