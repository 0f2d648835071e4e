"""Spent OIDC sign-in states: the one module with SQL for oidc_spent_states."""

from __future__ import annotations

import hashlib
from typing import Any

from psycopg import AsyncConnection

KEEP_S = 3600  # longer than a pending sign-in lives (its cookie), so a replay is caught


async def spend_state(conn: AsyncConnection[Any], state: str) -> bool:
    """Mark a sign-in's state used: True the first time, False for a replay (any process)."""
    digest = hashlib.sha256(state.encode()).hexdigest()
    await conn.execute(
        "DELETE FROM oidc_spent_states WHERE spent_at < now() - make_interval(secs => %s)",
        (KEEP_S,),
    )
    cur = await conn.execute(
        "INSERT INTO oidc_spent_states (state_hash) VALUES (%s) ON CONFLICT DO NOTHING",
        (digest,),
    )
    return cur.rowcount == 1
