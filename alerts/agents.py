"""Alert agent and timers of the worker: area states in, alert changes and SMS out.

Only wiring: decisions come from the pure engine, the database work from AlertService.
Nothing runs at import: `register` puts the agent and timers on the worker's app, which
streams/worker.py builds (alerts never imports streams).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import faust
import psycopg

from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.domain.area_state import AreaState

log = logging.getLogger(__name__)


class _Starter:
    """Starts the service once the database answers; every step waits for it."""

    def __init__(self, service: AlertService, clock: Callable[[], datetime]) -> None:
        self.service = service
        self.clock = clock
        self._lock = asyncio.Lock()

    async def ready(self) -> bool:
        if self.service.started:
            return True
        async with self._lock:
            if not self.service.started:
                try:
                    await self.service.start(self.clock())
                except psycopg.OperationalError as exc:
                    log.warning("alert service waits for the database: %s", exc)
                    return False
        return True

    async def guarded(self, what: str, step: Callable[[datetime], Awaitable[Any]]) -> None:
        if not await self.ready():
            return
        try:
            await step(self.clock())
        except psycopg.Error as exc:  # the next period tries again
            log.warning("alert %s skipped: %s", what, exc)


def register(
    app: faust.App,
    area_states: faust.TopicT,
    service: AlertService,
    settings: AlertSettings,
    thresholds_reload_s: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Put the alert agent (reading `area_states`) and the alert timers on `app`.
    `clock`: what the alert path takes as now (a drill's simulated clock in a drill)."""
    starter = _Starter(service, clock)

    async def restore_alert_engine() -> None:
        """Reload open alerts, silences and recipients before the first state arrives."""
        await starter.ready()

    async def evaluate_alerts(stream: Any) -> None:
        """Every area and zone state through the alert engine."""
        async for raw in stream:
            try:
                state = AreaState.model_validate_json(raw)
            except ValueError:
                log.warning("unreadable area-state message skipped")
                continue
            if await starter.ready():
                await service.on_state(state, clock())

    def timer(what: str, step: Callable[[datetime], Awaitable[Any]]) -> Callable[[], Any]:
        async def run() -> None:
            await starter.guarded(what, step)

        return run

    app.task(restore_alert_engine)
    app.agent(area_states, name="alerts.agents.evaluate_alerts")(evaluate_alerts)
    for name, interval, what, step in (
        # data gaps of feeds that stopped entirely
        ("sweep_data_gaps", settings.sweep_s, "sweep", service.sweep),
        # reminders, tier chain, unmute
        ("remind_and_escalate", settings.tick_s, "tick", service.tick),
        # grouped notifications whose window passed
        ("flush_grouped_notifications", settings.flush_s, "flush", service.flush),
        # operator resolutions, silences, recipients
        ("sync_operator_changes", settings.sync_s, "sync", service.sync),
        # operator thresholds and event days into the rules; on error the last ones stay
        (
            "reload_alert_thresholds",
            thresholds_reload_s,
            "thresholds reload",
            service.reload_thresholds,
        ),
    ):
        app.timer(interval=interval, name=f"alerts.{name}")(timer(what, step))
