"""Which drills the database holds (a schema `drill_<id>` each, citypulse/cli/drill.py),
a connection pointed at one of them, and a drill's simulated clock (`drill_clock`). The
alert tables' SQL stays in alerts/tables: inside `in_drill` the same reads and writes
reach the drill's tables instead of the live ones."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, errors, sql

from citypulse.sim_clock import SimulatedClock

DRILL_ID = re.compile(r"^[a-z0-9]{1,16}$")  # as citypulse/cli/drill.py names them


class NoSuchDrill(LookupError):
    pass


def schema_of(drill_id: str) -> str:
    """The drill's schema name; ValueError for anything but a drill id."""
    if not DRILL_ID.match(drill_id):
        raise ValueError(f"drill id {drill_id[:40]!r}: 1-16 lowercase letters and digits")
    return f"drill_{drill_id}"


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
    or write (a search_path naming a missing schema would silently fall through to the
    live city). The drill's alert table is locked (ACCESS SHARE) for the transaction, so
    its schema cannot be dropped under the reads and writes that follow."""
    if not DRILL_ID.match(drill_id) or drill_id not in await drill_ids(conn):
        raise NoSuchDrill(drill_id)
    ident = sql.Identifier(schema_of(drill_id))
    async with conn.transaction():
        try:
            await conn.execute(sql.SQL("LOCK TABLE {}.alerts IN ACCESS SHARE MODE").format(ident))
        except (errors.UndefinedTable, errors.InvalidSchemaName):
            raise NoSuchDrill(drill_id) from None  # dropped in between
        await conn.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(ident))
        yield


async def save_clock(
    conn: AsyncConnection[Any], drill_id: str, scenario: str, clock: SimulatedClock
) -> None:
    """The drill's clock, in the drill's schema (the caller's search_path names it)."""
    await conn.execute(
        "INSERT INTO drill_clock (drill_id, scenario, sim_start, wall_start, speed) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (one) DO UPDATE SET drill_id = "
        "excluded.drill_id, scenario = excluded.scenario, sim_start = excluded.sim_start, "
        "wall_start = excluded.wall_start, speed = excluded.speed",
        (drill_id, scenario, clock.sim_start, clock.wall_start, clock.speed),
    )


async def clock_of(conn: AsyncConnection[Any]) -> SimulatedClock | None:
    """The clock of the drill `in_drill` points at; None for a drill started without one
    (before migration 0021)."""
    cur = await conn.execute("SELECT sim_start, wall_start, speed FROM drill_clock")
    row = await cur.fetchone()
    if row is None:
        return None
    start: datetime = row[0]
    return SimulatedClock(start, float(row[1]), float(row[2]))
