"""The API's garbage-collector policy (dashboard_api/core/gcpolicy.py): the lifespan
applies it, survivors of a full collection are frozen, and frozen reference cycles (what a
closed connection leaves) are collected after a thaw, so websocket churn does not leak."""

from __future__ import annotations

import asyncio
import gc
import math
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from citypulse.config import StackSettings
from dashboard_api import main
from dashboard_api.core.config import ApiSettings
from dashboard_api.core.gcpolicy import GcPolicy
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.live.hub import AreaStateHub
from dashboard_api.opendata.broker_settings import BrokerPushSettings
from tests.unit.dashboard_api.live_server import live_api

DISTRICTS = {"POI001": "중구", "POI009": "종로구"}


@pytest.fixture
def policy_guard() -> Iterator[None]:
    """Whatever a test does, the process's collector is left unfrozen, without hooks."""
    callbacks = list(gc.callbacks)
    try:
        yield
    finally:
        gc.callbacks[:] = callbacks
        gc.unfreeze()


class _Cycle:
    def __init__(self) -> None:
        self.me = self  # garbage only the cycle collector can free


class _Started:
    """Stands for the pool, hub and alert feed: started and stopped, nothing else."""

    check_connection = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.latest: dict[str, Any] = {}
        self.departed, self.clients = 0, set[Any]()

    async def open(self, wait: bool = True) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def close(self) -> None: ...


async def test_the_api_lifespan_installs_the_policy_and_removes_it(
    monkeypatch: pytest.MonkeyPatch, policy_guard: None
) -> None:
    async def no_seeding(*args: Any) -> None: ...

    for name in ("AsyncConnectionPool", "AreaStateHub", "AlertFeed"):
        monkeypatch.setattr(main, name, _Started)
    monkeypatch.setattr(main, "seed_users", no_seeding)
    app = FastAPI()
    app.state.stack_settings, app.state.api_settings = StackSettings(), ApiSettings()
    app.state.broker_settings = BrokerPushSettings.model_construct()
    app.state.metrics = ApiMetrics()
    assert gc.get_freeze_count() == 0
    async with main.lifespan(app):
        policy = app.state.gc_policy
        assert policy.installed and policy._after_collection in gc.callbacks
        assert gc.get_freeze_count() > 0  # start-up's objects
    assert not policy.installed and policy._after_collection not in gc.callbacks
    assert gc.get_freeze_count() == 0


def test_survivors_of_a_full_collection_are_frozen_and_a_thaw_collects_frozen_cycles(
    policy_guard: None,
) -> None:
    now, departed, present = [0.0], [0], [0]
    policy = GcPolicy(lambda: departed[0], lambda: present[0], freeze_every_s=5.0,
                      min_churn=100, thaw_every_s=600.0, clock=lambda: now[0])  # fmt: skip
    policy.install()
    floor = gc.get_freeze_count()
    held = [_Cycle() for _ in range(1000)]  # 1000 clients' objects
    present[0] = 1000
    probe = weakref.ref(held[0])
    gc.collect()
    assert gc.get_freeze_count() == floor  # within FREEZE_EVERY_S: nothing frozen
    now[0] += 5.0
    gc.collect()
    assert policy.freezes == 1 and gc.get_freeze_count() >= floor + 1000
    del held[:300]  # 300 leave: their cycles are frozen, so not collected
    departed[0], present[0] = 300, 700
    now[0] += 5.0
    gc.collect()
    assert probe() is not None and policy.thaws == 0  # 300 left, 700 remain: not yet
    del held[:500]
    departed[0], present[0] = 800, 200
    now[0] += 5.0
    gc.collect()  # more have left than remain: thawed
    assert policy.thaws == 1 and gc.get_freeze_count() == 0
    gc.collect()  # walks everything, frees the cycles, freezes what is live
    assert probe() is None and policy.freezes == 3
    assert floor + 200 <= gc.get_freeze_count() < floor + 800
    now[0] += 600.0  # nobody left, but an hour (here 600 s) has passed: thawed anyway
    gc.collect()
    assert policy.thaws == 2 and gc.get_freeze_count() == 0


async def _churn(url: str, rounds: int) -> list[int]:
    """Frozen objects after each round of connecting and closing clients."""
    frozen = []
    for _ in range(rounds):
        clients = [await connect(url, compression=None) for _ in range(60)]
        for ws in clients:
            async with asyncio.timeout(5):
                await ws.recv()  # the snapshot: the server's handler has run
        gc.collect()  # a full collection while they are connected: frozen
        for ws in clients:
            await ws.close()
        async with asyncio.timeout(5):
            while True:  # the server's handlers finish
                await asyncio.sleep(0.02)
                if not _HUB.clients:
                    break
        gc.collect()  # the policy thaws after this one if enough have left
        gc.collect()
        frozen.append(gc.get_freeze_count())
    return frozen


_HUB = AreaStateHub("x", "y", DISTRICTS)


@pytest.mark.parametrize("thaw", [True, False], ids=["thawed", "never-thawed-leaks"])
async def test_connection_churn_stays_bounded_only_with_thaws(
    thaw: bool, policy_guard: None
) -> None:
    hub = _HUB
    protocol = "dashboard_api.live.wire:SharedFrameProtocol"  # as `citypulse up` runs it
    async with live_api(hub, protocol, False) as base:
        url = f"{base}/ws/live?zones=false"
        await _churn(url, 1)  # warm: imports and caches of a first connection
        policy = GcPolicy(lambda: hub.departed, lambda: len(hub.clients), freeze_every_s=0.0,
                          min_churn=100 if thaw else math.inf, thaw_every_s=math.inf)  # fmt: skip
        policy.install()
        floor = gc.get_freeze_count()
        frozen = await _churn(url, 12)
    # Closed connections leave reference cycles; frozen, only a thaw collects them.
    if thaw:
        assert policy.thaws >= 4
        assert max(frozen) < floor + 3 * 60 * 60  # 3 rounds' clients at most
    else:
        assert policy.thaws == 0
        assert frozen[-1] > frozen[0] + 10 * 60 * 30  # grows with every round
