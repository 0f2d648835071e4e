"""Alert agents of the worker: they read the area-state topic and open alerts."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from alerts.store import PostgresAlertStore
from sensors.registry import hotspots_by_code
from streams.agents import area_state_topic
from streams.app import app, settings
from streams.crowd.state import AreaState

log = logging.getLogger(__name__)
alert_store = PostgresAlertStore(settings.db_conninfo)
hotspots = hotspots_by_code()


@app.agent(area_state_topic)
async def evaluate_alerts(stream: Any) -> None:
    """Thin rule until the alert engine lands: open an alert at a fixed density."""
    async for raw in stream:
        try:
            state = AreaState.model_validate_json(raw)
        except ValueError:
            log.warning("unreadable area-state message skipped")
            continue
        if state.density_per_m2 >= settings.alert_density_per_m2:
            await asyncio.to_thread(alert_store.open_density_alert, state, hotspots)
