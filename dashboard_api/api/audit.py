"""An operator's change and its line in the operator audit trail, in one transaction.

Either both are stored or neither: a change nobody can account for must not exist, nor
an audit line for a change that failed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from dashboard_api.schemas.auth import UserPublic
from dashboard_api.store.users import record_action


@dataclass
class AuditLine:
    """What the audit line will say; `target` may be set once the change names it."""

    action: str
    target: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def audited(
    conn: AsyncConnection[Any],
    caller: UserPublic,
    action: str,
    target: str = "",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AsyncIterator[AuditLine]:
    """`async with audited(conn, caller, "x.create", data=...) as line:` make the change,
    then set `line.target` if only the change knows it (a new row's id). `at`: when it
    happened, if not the database's now (a drill's simulated time)."""
    async with conn.transaction():
        line = AuditLine(action, target, data or {})
        yield line
        await record_action(
            conn, caller.username, caller.role, line.action, line.target, line.data, at
        )
