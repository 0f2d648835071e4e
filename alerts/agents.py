"""Alert agent and timers of the worker: area states in, alert changes and SMS out.

Only wiring: decisions come from the pure engine, the database work from AlertService,
the states from the area-state topic through `AreaStateFeed`. Nothing runs at import:
`register` puts the agent and timers on the worker's app, which streams/worker.py builds
(alerts never imports streams).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
import psycopg

from alerts.service import AlertService
from alerts.settings import AlertSettings
from alerts.state_feed import AreaStateFeed
from citypulse.domain.area_state import AreaState

log = logging.getLogger(__name__)
# States evaluated before the loop runs its other tasks: the worker's ingest and state
# ticks share it, and a fetch of 1,000 states is about 0.1 s of engine work here.
YIELD_EVERY = 50


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


def evaluator(
    service: AlertService, ready: Callable[[], Awaitable[bool]], clock: Callable[[], datetime]
) -> Callable[[Sequence[bytes]], Awaitable[None]]:
    """What the alert agent does with a fetch of area-state messages: each through the
    alert path, in order. An unreadable message is skipped with a warning; while the
    database does not answer (`ready` false) states pass unevaluated, as they always did:
    the engine judges the next ones once it is restored. A state the path fails on is
    logged with its traceback and the rest go on: one bad state must not stop the alerts
    of every other area (Faust's agent restarted itself past one, too)."""

    async def evaluate(messages: Sequence[bytes]) -> None:
        for n, raw in enumerate(messages):
            if n and n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            try:
                state = AreaState.model_validate_json(raw)
            except ValueError:
                log.warning("unreadable area-state message skipped")
                continue
            if not await ready():
                continue
            try:
                await service.on_state(state, clock())
            except Exception:
                log.exception("area state %s not evaluated", state.key)

    return evaluate


def register(
    app: faust.App,
    feed: AreaStateFeed,
    service: AlertService,
    settings: AlertSettings,
    thresholds_reload_s: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Put the alert agent (reading area states from `feed`) and the alert timers on
    `app`. `clock`: what the alert path takes as now (a drill's simulated clock in a
    drill)."""
    starter = _Starter(service, clock)
    evaluate = evaluator(service, starter.ready, clock)

    async def restore_alert_engine() -> None:
        """Reload open alerts, silences and recipients before the first state arrives."""
        await starter.ready()

    async def evaluate_alerts() -> None:
        """Every area and zone state through the alert engine; a failure stops the worker
        (the supervisor restarts it): an alert path that silently stopped is worse."""
        try:
            await feed.run(evaluate)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("alert agent failed; stopping the worker")
            await app.crash(exc)

    def timer(what: str, step: Callable[[datetime], Awaitable[Any]]) -> Callable[[], Any]:
        async def run() -> None:
            await starter.guarded(what, step)

        return run

    app.task(restore_alert_engine)
    app.task(evaluate_alerts)
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
