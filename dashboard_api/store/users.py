"""Dashboard users and the operator audit trail."""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from dashboard_api.core.security import hash_password


async def find_user(conn: AsyncConnection[Any], username: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT username, password_hash, role FROM dashboard_users "
            "WHERE username = %s AND active",
            (username,),
        )
        return await cur.fetchone()


async def seed_user(conn: AsyncConnection[Any], username: str, password: str, role: str) -> bool:
    """Create the user if missing; an existing user keeps the password it has."""
    cur = await conn.execute(
        "INSERT INTO dashboard_users (username, password_hash, role) VALUES (%s, %s, %s) "
        "ON CONFLICT (username) DO NOTHING",
        (username, hash_password(password), role),
    )
    return cur.rowcount == 1


async def record_action(
    conn: AsyncConnection[Any],
    actor: str,
    role: str,
    action: str,
    target: str,
    data: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO operator_audit (actor, role, action, target, data) "
        "VALUES (%s, %s, %s, %s, %s)",
        (actor, role, action, target, json.dumps(data or {}, default=str)),
    )


async def list_actions(conn: AsyncConnection[Any], limit: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, at, actor, role, action, target, data FROM operator_audit "
            "ORDER BY id DESC LIMIT %s",
            (limit,),
        )
        return await cur.fetchall()
