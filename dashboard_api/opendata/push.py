"""Keeps configured FIWARE brokers holding CityPulse's newest area and zone entities.

A task of the API process, which already holds every current state (the area-state hub).
Each round it builds the entities from the hub's newest states and sends each broker,
in batches, those that changed since that broker last accepted them. Nothing is queued:
a broker that is away misses no state, because after its outage it is sent whatever is
newest then (a broker holds current state; the history stays in CityPulse's exports).
A failing broker is logged, counted and retried with backoff; it never blocks nor ends
the API, and one broker's outage does not hold back another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from citypulse.domain.area_state import AreaState
from dashboard_api.opendata.broker_settings import BrokerPushSettings
from dashboard_api.opendata.brokers import (
    BrokerRejected,
    ContextBroker,
    NgsiLdBroker,
    NgsiV2Broker,
)
from dashboard_api.opendata.shapes import area_entity, crowd_flow_entity
from sensors.registry import Hotspot, hotspots_by_code

log = logging.getLogger(__name__)
Entity = dict[str, Any]


class PushMetrics:
    """What the push counts; the API's metrics subclass it with Prometheus series."""

    def accepted(self, broker: str, n: int) -> None: ...
    def failed(self, broker: str, reason: str) -> None: ...
    def pending(self, broker: str, n: int) -> None: ...


class LiveEntities:
    """The entities of the newest states (`CrowdFlowObserved` per area and zone,
    `PointOfInterest` per area with a state); a state is converted once, when it changes."""

    def __init__(
        self, latest: Callable[[], Mapping[str, bytes]], hotspots: Mapping[str, Hotspot]
    ) -> None:
        self.latest, self.hotspots = latest, hotspots
        self._seen: dict[str, tuple[bytes, list[Entity]]] = {}

    def _convert(self, raw: bytes) -> list[Entity]:
        try:
            state = AreaState.model_validate_json(raw)
        except ValidationError:
            return []  # the dashboard skips what it cannot read; so do we
        hotspot = self.hotspots.get(state.area_code)
        out = [crowd_flow_entity(state, hotspot)]
        if state.zone_id is None and hotspot is not None:
            out.append(area_entity(hotspot, state))
        return out

    def __call__(self) -> dict[str, Entity]:
        out: dict[str, Entity] = {}
        for key, raw in list(self.latest().items()):
            seen = self._seen.get(key)
            if seen is None or seen[0] is not raw:
                seen = self._seen[key] = (raw, self._convert(raw))
            out.update((e["id"], e) for e in seen[1])
        return out


def _fingerprint(entity: Entity) -> str:
    return json.dumps(entity, sort_keys=True, ensure_ascii=False)


@dataclass
class _Lane:
    """One broker and what it has accepted (entity id → fingerprint)."""

    broker: ContextBroker
    accepted: dict[str, str] = field(default_factory=dict)
    failures: int = 0
    retry_at: float = 0.0


class BrokerPush:
    def __init__(
        self,
        brokers: Sequence[ContextBroker],
        entities: Callable[[], Mapping[str, Entity]],
        *,
        period_s: float = 5.0,
        batch_size: int = 100,
        timeout_s: float = 5.0,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        metrics: PushMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.lanes = [_Lane(b) for b in brokers]
        self.entities = entities
        self.period_s, self.batch_size, self.timeout_s = period_s, batch_size, timeout_s
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.metrics = metrics or PushMetrics()
        self.clock, self.jitter = clock, jitter
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broker-push")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.push_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not end the API: log it, go on
                log.exception("broker push round failed")
            await asyncio.sleep(self.period_s)

    async def push_once(self) -> None:
        """One round: every broker not backing off gets what changed for it."""
        current = self.entities()
        await asyncio.gather(*(self._push(lane, current) for lane in self.lanes))

    async def _push(self, lane: _Lane, current: Mapping[str, Entity]) -> None:
        name = lane.broker.name
        prints = {i: _fingerprint(e) for i, e in current.items()}
        pending = [i for i, p in prints.items() if lane.accepted.get(i) != p]
        self.metrics.pending(name, len(pending))
        if not pending or self.clock() < lane.retry_at:
            return
        for at in range(0, len(pending), self.batch_size):
            ids = pending[at : at + self.batch_size]
            try:
                async with asyncio.timeout(self.timeout_s):
                    refused = set(await lane.broker.upsert([current[i] for i in ids]))
            except BrokerRejected as exc:
                # As it is, the batch will never be taken: wait for the entities to change.
                log.error("%s refused %d entities: %s", name, len(ids), exc)
                self.metrics.failed(name, "rejected")
                refused = set(ids)
            except Exception as exc:  # unavailable, timed out, or unforeseen: later
                lane.failures += 1
                delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (lane.failures - 1))
                delay *= 0.5 + self.jitter() / 2
                lane.retry_at = self.clock() + delay
                why = str(exc) or type(exc).__name__  # a timeout has no message
                log.warning("%s unavailable (%s); retrying in %.1fs", name, why, delay)
                self.metrics.failed(name, "unavailable")
                break
            if refused:
                log.error("%s refused %s", name, sorted(refused)[:10])
            for i in ids:
                lane.accepted[i] = prints[i]  # a refused one is retried once it changes
            lane.failures, lane.retry_at = 0, 0.0
            self.metrics.accepted(name, len(ids) - len(refused & set(ids)))
        self.metrics.pending(name, sum(lane.accepted.get(i) != p for i, p in prints.items()))


def broker_push(
    settings: BrokerPushSettings,
    latest: Callable[[], Mapping[str, bytes]],
    client: httpx.AsyncClient,
    metrics: PushMetrics | None = None,
) -> BrokerPush | None:
    """The push the settings ask for, or None when no broker is configured."""
    if not settings.enabled:
        return None
    headers = dict(settings.headers)
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
    brokers: list[ContextBroker] = []
    if settings.v2_url:
        brokers.append(NgsiV2Broker(settings.v2_url, client, headers))
    if settings.ld_url:
        brokers.append(NgsiLdBroker(settings.ld_url, client, headers))
    return BrokerPush(
        brokers,
        LiveEntities(latest, hotspots_by_code()),
        period_s=settings.period_s,
        batch_size=settings.batch_size,
        timeout_s=settings.timeout_s,
        backoff_base_s=settings.backoff_base_s,
        backoff_max_s=settings.backoff_max_s,
        metrics=metrics,
    )
