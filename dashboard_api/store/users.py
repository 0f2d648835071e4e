"""Dashboard accounts and the operator audit trail: the one module with SQL for
dashboard_users and operator_audit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from dashboard_api.core.security import hash_password

_ACCOUNT = (
    "username, password_hash, role, active, display_name, agency, districts, "
    "failed_logins, locked_until, password_changed_at, created_at"
)
_PUBLIC = (
    "username, role, active, display_name, agency, districts, locked_until, created_at, "
    "oidc_subject"
)
_CREATE = (
    "INSERT INTO dashboard_users (username, password_hash, role, display_name, agency, "
    "districts) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING "
    "RETURNING username, role, active, display_name, agency, districts, locked_until, created_at"
)


async def find_account(conn: AsyncConnection[Any], username: str) -> dict[str, Any] | None:
    """The account, enabled or not (the caller decides what a disabled one may do)."""
    return await _account_where(conn, "username", username)


async def find_account_by_oidc(conn: AsyncConnection[Any], subject: str) -> dict[str, Any] | None:
    """The account an admin linked to this identity-provider subject (or claim value)."""
    return await _account_where(conn, "oidc_subject", subject)


async def _account_where(
    conn: AsyncConnection[Any], column: Literal["username", "oidc_subject"], value: str
) -> dict[str, Any] | None:
    # `column` is one of two literals (both unique columns), never input.
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_ACCOUNT} FROM dashboard_users WHERE {column} = %s",  # noqa: S608
            (value,),
        )
        return await cur.fetchone()


async def link_oidc(conn: AsyncConnection[Any], username: str, subject: str | None) -> bool:
    """Link the account to an identity-provider subject (None: unlink). A subject linked
    to another account raises psycopg.errors.UniqueViolation."""
    cur = await conn.execute(
        "UPDATE dashboard_users SET oidc_subject = %s WHERE username = %s", (subject, username)
    )
    return cur.rowcount == 1


async def list_accounts(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_PUBLIC} FROM dashboard_users ORDER BY username")  # noqa: S608
        return await cur.fetchall()


async def seed_user(conn: AsyncConnection[Any], username: str, password: str, role: str) -> bool:
    """Create the user if missing; an existing user keeps the password it has."""
    cur = await conn.execute(
        "INSERT INTO dashboard_users (username, password_hash, role) VALUES (%s, %s, %s) "
        "ON CONFLICT (username) DO NOTHING",
        (username, hash_password(password), role),
    )
    return cur.rowcount == 1


async def create_account(
    conn: AsyncConnection[Any],
    *,
    username: str,
    password_hash: str,
    role: str,
    display_name: str,
    agency: str,
    districts: Sequence[str],
) -> dict[str, Any] | None:
    """The new account, or None when the username is taken."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _CREATE,
            (username, password_hash, role, display_name, agency, list(districts)),
        )
        return await cur.fetchone()


async def set_active(conn: AsyncConnection[Any], username: str, active: bool) -> bool:
    cur = await conn.execute(
        "UPDATE dashboard_users SET active = %s WHERE username = %s", (active, username)
    )
    return cur.rowcount == 1


async def set_password(
    conn: AsyncConnection[Any], username: str, password_hash: str, *, now: datetime
) -> bool:
    """A new password, which also lifts a lock and ends the tokens issued before `now`."""
    cur = await conn.execute(
        "UPDATE dashboard_users SET password_hash = %s, password_changed_at = %s, "
        "failed_logins = 0, locked_until = NULL WHERE username = %s",
        (password_hash, now, username),
    )
    return cur.rowcount == 1


async def rehash_password(conn: AsyncConnection[Any], username: str, password_hash: str) -> None:
    """Same password, better hash (an older scheme's hash upgraded at sign-in)."""
    await conn.execute(
        "UPDATE dashboard_users SET password_hash = %s WHERE username = %s",
        (password_hash, username),
    )


async def sign_in_failed(conn: AsyncConnection[Any], username: str) -> int:
    """One more wrong password in a row (counted atomically): how many now."""
    cur = await conn.execute(
        "UPDATE dashboard_users SET failed_logins = failed_logins + 1 WHERE username = %s "
        "RETURNING failed_logins",
        (username,),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def hold_sign_in(conn: AsyncConnection[Any], username: str, until: datetime) -> None:
    """No attempt for this account is checked before `until` (backoff or lock)."""
    await conn.execute(
        "UPDATE dashboard_users SET locked_until = %s WHERE username = %s", (until, username)
    )


async def sign_in_succeeded(conn: AsyncConnection[Any], username: str) -> None:
    await conn.execute(
        "UPDATE dashboard_users SET failed_logins = 0, locked_until = NULL WHERE username = %s",
        (username,),
    )


async def record_action(
    conn: AsyncConnection[Any],
    actor: str,
    role: str,
    action: str,
    target: str,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """One operator audit line; `at` is the database's now unless given (a drill's
    simulated time: its wall time is then in `data`)."""
    await conn.execute(
        "INSERT INTO operator_audit (at, actor, role, action, target, data) "
        "VALUES (coalesce(%s, now()), %s, %s, %s, %s, %s)",
        (at, actor, role, action, target, json.dumps(data or {}, default=str)),
    )


async def list_actions(conn: AsyncConnection[Any], limit: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, at, actor, role, action, target, data FROM operator_audit "
            "ORDER BY id DESC LIMIT %s",
            (limit,),
        )
        return await cur.fetchall()


# An operator_audit line belongs to an alert when its target is the alert and its action
# acts on alerts (`alert.acknowledge`, `playbook.tick`, ...), or when its data names the
# alert (`"alert_id"`): so a new kind of action on alerts appears in the record untold.
ALERT_RESOURCES = ("alert", "playbook")


async def actions_on_alerts(
    conn: AsyncConnection[Any], alert_ids: list[int]
) -> list[dict[str, Any]]:
    """Operator audit lines tied to these alerts, oldest first."""
    targets = [str(i) for i in alert_ids] + [f"A{i}" for i in alert_ids]
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, at, actor, role, action, target, data FROM operator_audit "
            "WHERE (target = ANY(%s) AND split_part(action, '.', 1) = ANY(%s)) "
            "OR data->>'alert_id' = ANY(%s) ORDER BY at, id",
            (targets, list(ALERT_RESOURCES), [str(i) for i in alert_ids]),
        )
        return await cur.fetchall()


async def display_names(conn: AsyncConnection[Any], usernames: Sequence[str]) -> dict[str, str]:
    """username -> display name, for the accounts that have one."""
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT username, display_name FROM dashboard_users "
            "WHERE username = ANY(%s) AND display_name <> ''",
            (list(usernames),),
        )
        return {str(u): str(n) for u, n in await cur.fetchall()}
