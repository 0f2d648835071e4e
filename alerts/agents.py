"""Alert agent and timers of the worker: area states in, alert changes and SMS out.

Only wiring: decisions come from the pure engine, the database work from AlertService.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.domain.area_state import AreaState
from sensors.registry import hotspots_by_code
from streams.agents import area_state_topic
from streams.app import app, settings

log = logging.getLogger(__name__)
alert_settings = AlertSettings()
areas = {
    h.code: AreaInfo(h.code, h.name_ko, h.name_en, h.district) for h in hotspots_by_code().values()
}
service = AlertService(settings.db_conninfo, areas, alert_settings)
_start_lock = asyncio.Lock()


async def _ensure_started() -> bool:
    if service.started:
        return True
    async with _start_lock:
        if not service.started:
            try:
                await service.start(datetime.now(UTC))
            except psycopg.OperationalError as exc:
                log.warning("alert service waits for the database: %s", exc)
                return False
    return True


async def _guarded(what: str, step: Callable[[datetime], Awaitable[Any]]) -> None:
    if not await _ensure_started():
        return
    try:
        await step(datetime.now(UTC))
    except psycopg.Error as exc:  # the next period tries again
        log.warning("alert %s skipped: %s", what, exc)


@app.task
async def restore_alert_engine() -> None:
    """Reload open alerts, silences and recipients before the first state arrives."""
    await _ensure_started()


@app.agent(area_state_topic)
async def evaluate_alerts(stream: Any) -> None:
    """Every area and zone state through the alert engine."""
    async for raw in stream:
        try:
            state = AreaState.model_validate_json(raw)
        except ValueError:
            log.warning("unreadable area-state message skipped")
            continue
        if await _ensure_started():
            await service.on_state(state, datetime.now(UTC))


@app.timer(interval=alert_settings.sweep_s)
async def sweep_data_gaps() -> None:
    await _guarded("sweep", service.sweep)


@app.timer(interval=alert_settings.tick_s)
async def remind_and_escalate() -> None:
    await _guarded("tick", service.tick)


@app.timer(interval=alert_settings.flush_s)
async def flush_grouped_notifications() -> None:
    await _guarded("flush", service.flush)


@app.timer(interval=alert_settings.sync_s)
async def sync_operator_changes() -> None:
    await _guarded("sync", service.sync)


@app.timer(interval=settings.thresholds_reload_s)
async def reload_alert_thresholds() -> None:
    """Operator thresholds and event days into the rules; on error the last ones stay."""
    await _guarded("thresholds reload", service.reload_thresholds)
