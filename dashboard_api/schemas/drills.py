"""Drills as the API shows them (citypulse/cli/drill.py runs them): read-only."""

from __future__ import annotations

from dashboard_api.schemas.responses import AlertDetail, Answer


class DrillSummary(Answer):
    id: str
    alerts: int
    open: int


class DrillRecord(Answer):
    """A drill's incident record: its alerts with their audit and texts (numbers masked),
    every time the drill's simulated time."""

    id: str
    alerts: list[AlertDetail]
