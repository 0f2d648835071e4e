"""Drills as the API shows them (citypulse/cli/drill.py runs them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dashboard_api.schemas.responses import AlertDetail, Answer


class DrillSummary(Answer):
    id: str
    alerts: int
    open: int


class DrillAction(Answer):
    """An operator's action in the drill (operator audit): `at` simulated; `data` says
    which drill, and the wall time it happened (`wall_at`)."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    data: dict[str, Any]


class DrillRecord(Answer):
    """A drill's incident record: its alerts with their audit and texts (numbers masked)
    and what operators did, every time the drill's simulated time."""

    id: str
    alerts: list[AlertDetail]
    actions: list[DrillAction]
