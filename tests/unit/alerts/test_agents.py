"""alerts/agents.py: what the alert agent does with a fetch of area-state messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.agents import YIELD_EVERY, evaluator, register
from alerts.service import AlertService
from alerts.settings import AlertSettings
from alerts.state_feed import AreaStateFeed
from citypulse.domain.area_state import AreaState
from tests.unit.alerts.alerts_factories import at, make_state

NOW = at(100)


class Service:
    """AlertService as the agent calls it: one `on_state` per state."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.seen: list[tuple[str, datetime]] = []
        self.fail_on = fail_on

    async def on_state(self, state: AreaState, now: datetime) -> list[Any]:
        if state.key == self.fail_on:
            raise ZeroDivisionError("a bug in one rule")
        self.seen.append((state.key, now))
        return []


async def always() -> bool:
    return True


async def never() -> bool:
    return False


def _evaluate(
    service: Service, ready: Callable[[], Awaitable[bool]] = always
) -> Callable[[Sequence[bytes]], Awaitable[None]]:
    return evaluator(cast(AlertService, service), ready, lambda: NOW)


def message(area: str, zone: str | None = None) -> bytes:
    return make_state(50, 2.0, area=area, zone=zone).model_dump_json().encode()


def test_each_readable_state_is_evaluated_in_order_with_the_clock_unreadable_ones_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Service()
    messages = [message("POI001"), b"\x00{not json", message("POI002", "Z1"), b"{}"]
    with caplog.at_level(logging.WARNING, logger="alerts.agents"):
        asyncio.run(_evaluate(service)(messages))
    assert service.seen == [("POI001", NOW), ("POI002/Z1", NOW)]
    assert caplog.text.count("unreadable area-state message skipped") == 2


def test_a_state_the_path_fails_on_is_logged_and_the_others_still_evaluated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Service(fail_on="POI002")
    messages = [message("POI001"), message("POI002"), message("POI003")]
    with caplog.at_level(logging.ERROR, logger="alerts.agents"):
        asyncio.run(_evaluate(service)(messages))
    assert [k for k, _ in service.seen] == ["POI001", "POI003"]
    assert "area state POI002 not evaluated" in caplog.text
    assert "ZeroDivisionError" in caplog.text  # with its traceback


def test_states_pass_unevaluated_while_the_database_does_not_answer() -> None:
    service = Service()
    asyncio.run(_evaluate(service, never)([message("POI001"), message("POI002")]))
    assert service.seen == []


def test_a_long_fetch_lets_the_loop_run_other_tasks_between_states() -> None:
    # The worker's ingest and state ticks share the loop with the agent.
    service = Service()
    progress: list[int] = []

    async def other_task() -> None:
        while True:
            progress.append(len(service.seen))
            await asyncio.sleep(0)

    async def go() -> None:
        other = asyncio.create_task(other_task())
        await asyncio.sleep(0)
        progress.clear()
        await _evaluate(service)([message(f"POI{n:03d}") for n in range(3 * YIELD_EVERY + 1)])
        other.cancel()

    asyncio.run(go())
    assert len(service.seen) == 3 * YIELD_EVERY + 1
    # It ran between states, not only before or after the whole fetch.
    assert {YIELD_EVERY, 2 * YIELD_EVERY, 3 * YIELD_EVERY} <= set(progress)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=200),
            st.text(max_size=200).map(str.encode),
            st.just(message("POI001")),
            st.just(message("POI001")[:-7]),  # half a message
        ),
        max_size=8,
    )
)
def test_no_message_stops_the_agent(messages: list[bytes]) -> None:
    service = Service()
    asyncio.run(_evaluate(service)(messages))
    assert len(service.seen) == messages.count(message("POI001"))


class App:
    """The Faust app as `register` uses it: tasks and timers collected, `crash` seen."""

    def __init__(self) -> None:
        self.tasks: dict[str, Callable[[], Awaitable[None]]] = {}
        self.crashed: list[BaseException] = []

    def task(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        self.tasks[fn.__name__] = fn
        return fn

    def timer(self, interval: float, name: str) -> Callable[[Any], Any]:
        return lambda fn: fn

    async def crash(self, exc: BaseException) -> None:
        self.crashed.append(exc)


class Feed:
    def __init__(self, messages: list[bytes], then: BaseException | None = None) -> None:
        self.messages = messages
        self.then = then

    async def run(self, evaluate: Callable[[Sequence[bytes]], Awaitable[None]]) -> None:
        await evaluate(self.messages)
        if self.then is not None:
            raise self.then


class StartedService(Service):
    """Restored already; its timers are not run here."""

    started = True
    sweep = tick = flush = sync = reload_thresholds = None


def _register(feed: Feed, service: Service) -> App:
    app = App()
    register(
        cast(Any, app),
        cast(AreaStateFeed, feed),
        cast(AlertService, service),
        AlertSettings(),
        15.0,
        clock=lambda: NOW,
    )
    return app


def test_the_registered_agent_evaluates_what_its_feed_reads() -> None:
    service = StartedService()
    app = _register(Feed([message("POI001"), message("POI002", "Z2")]), service)
    asyncio.run(app.tasks["evaluate_alerts"]())
    assert service.seen == [("POI001", NOW), ("POI002/Z2", NOW)]
    assert app.crashed == []


def test_a_feed_that_fails_stops_the_worker_loudly() -> None:
    service = StartedService()
    app = _register(Feed([], then=ConnectionError("broker gone for good")), service)
    asyncio.run(app.tasks["evaluate_alerts"]())
    assert [type(e) for e in app.crashed] == [ConnectionError]
