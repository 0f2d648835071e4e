"""Where an operator acts: the live city, or a running drill.

The live routes' change code (alerts.py: acknowledge; playbooks.py: tick) takes a
`Where`, so acting in a drill is the live code path, run inside `in_drill` (the drill's
schema: its alerts, alert audit, operator audit and playbook ticks) and timed by the
drill's simulated clock, with the wall time beside it in the operator audit line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException
from psycopg import AsyncConnection

from dashboard_api.store.areas import list_areas
from dashboard_api.store.drills import NoSuchDrill, clock_of, in_drill


@dataclass(frozen=True)
class Where:
    """`drill_id` None: the live city, timed by the database's (wall) clock. A drill:
    `at` is its simulated now, `wall_at` the wall time it happened."""

    drill_id: str | None = None
    at: datetime | None = None
    wall_at: datetime | None = None

    def audit(self, data: dict[str, Any]) -> dict[str, Any]:
        """The operator audit line's data: in a drill it says so, and both times."""
        if self.drill_id is None:
            return data
        return {
            **data,
            "drill": self.drill_id,
            "simulated_at": self.at.isoformat() if self.at else None,
            "wall_at": self.wall_at.isoformat() if self.wall_at else None,
        }


LIVE = Where()


@asynccontextmanager
async def acting_in(
    conn: AsyncConnection[Any], drill_id: str
) -> AsyncIterator[tuple[Where, list[dict[str, Any]]]]:
    """One transaction in the drill's schema: the `Where` (its simulated now) and the
    drill's own registry rows (districts for permissions). 404 for no such drill, 409
    for a drill without a simulated clock."""
    try:
        async with in_drill(conn, drill_id):
            clock = await clock_of(conn)
            if clock is None:
                raise HTTPException(
                    409, f"drill {drill_id} has no simulated clock (started before 0021)",
                    {"X-Error-Code": "drill_without_clock"},
                )  # fmt: skip
            yield Where(drill_id, clock(), datetime.now(UTC)), await list_areas(conn)
    except NoSuchDrill:
        raise HTTPException(404, f"no drill {drill_id}", {"X-Error-Code": "no_drill"}) from None
