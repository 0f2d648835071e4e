"""Which drills the database holds (a schema `drill_<id>` each, citypulse/cli/drill.py),
and a connection pointed at one of them. The alert tables' SQL stays in alerts/tables:
inside `in_drill` the same reads see the drill's tables instead of the live ones."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection, sql

DRILL_ID = re.compile(r"^[a-z0-9]{1,16}$")  # as citypulse/cli/drill.py names them


class NoSuchDrill(LookupError):
    pass


async def drill_ids(conn: AsyncConnection[Any]) -> list[str]:
    cur = await conn.execute(
        "SELECT substr(nspname, 7) FROM pg_namespace WHERE nspname ~ '^drill_[a-z0-9]{1,16}$' "
        "ORDER BY 1"
    )
    return [str(r[0]) for r in await cur.fetchall()]


@asynccontextmanager
async def in_drill(conn: AsyncConnection[Any], drill_id: str) -> AsyncIterator[None]:
    """A transaction whose search_path is the drill's schema only (then public for the
    extensions): never the live one. An unknown drill raises NoSuchDrill, before any read
    (a search_path naming a missing schema would silently fall through to the live city)."""
    if not DRILL_ID.match(drill_id) or drill_id not in await drill_ids(conn):
        raise NoSuchDrill(drill_id)
    async with conn.transaction():
        await conn.execute(
            sql.SQL("SET LOCAL search_path TO {}, public").format(
                sql.Identifier(f"drill_{drill_id}")
            )
        )
        yield
