"""FIWARE context brokers notify CityPulse: NGSI v2 and NGSI-LD subscriptions' endpoint.

Subscribe with e.g. Orion v2 `"notification": {"httpCustom": {"url":
".../api/v1/ngsi/notify/v2", "headers": {"Authorization": "Bearer <token>"}}}` or an
NGSI-LD `"endpoint": {"uri": ".../api/v1/ngsi/notify/ld", "receiverInfo":
[{"key": "Authorization", "value": "Bearer <token>"}]}`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from kafka.errors import KafkaError
from psycopg_pool import PoolTimeout

from citypulse.topics import CITY_EVENTS
from dashboard_api.api.deps import SettingsDep
from dashboard_api.core.config import ApiSettings
from dashboard_api.opendata.ngsi_inbox import (
    Flavour,
    NotANotification,
    NotificationInbox,
    bearer_of,
    token_matches,
)
from dashboard_api.schemas.opendata import NotificationReceiptOut
from sensors.publisher import KafkaEventPublisher
from sensors.registry import Zone, load_hotspots

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/ngsi", tags=["open data"])
ZONES_TTL_S = 60.0
_setup_lock = asyncio.Lock()


def _check_token(request: Request, settings: ApiSettings) -> None:
    presented = bearer_of(request.headers.get("authorization"))
    if presented is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a notification needs the subscription's bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    expected = settings.ngsi_notify_token
    if not token_matches(presented, expected.get_secret_value() if expected else None):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not a token this endpoint accepts")


async def _inbox(request: Request) -> NotificationInbox:
    state = request.app.state
    async with _setup_lock:
        inbox: NotificationInbox | None = getattr(state, "ngsi_inbox", None)
        if inbox is None:
            try:
                stack = state.stack_settings
                publisher = await run_in_threadpool(
                    KafkaEventPublisher,
                    stack.kafka_bootstrap,
                    CITY_EVENTS.name(stack.topic_prefix),
                    linger_ms=0,
                )
            except KafkaError as exc:
                log.warning("no Kafka for NGSI notifications: %s", type(exc).__name__)
                raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "broker down") from None
            inbox = state.ngsi_inbox = NotificationInbox(publisher, load_hotspots())
        return inbox


async def _zones(request: Request) -> dict[str, Zone]:
    """The zone registry by zone id, re-read at most every minute."""
    state = request.app.state
    cached: tuple[float, dict[str, Zone]] | None = getattr(state, "ngsi_zones", None)
    if cached is not None and time.monotonic() - cached[0] < ZONES_TTL_S:
        return cached[1]
    try:
        async with state.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT zone_id, area_code, walkable_m2 FROM zones ORDER BY area_code, zone_id"
            )
            rows = await cur.fetchall()
    except (psycopg.Error, PoolTimeout) as exc:
        if cached is not None:
            return cached[1]  # an old registry places entities better than none
        log.warning("zone registry unavailable: %s", type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable") from None
    zones: dict[str, Zone] = {}
    for zone_id, area_code, walkable in rows:
        zones.setdefault(zone_id, Zone(zone_id, area_code, float(walkable)))
    state.ngsi_zones = (time.monotonic(), zones)
    return zones


async def _receive(request: Request, settings: ApiSettings, flavour: Flavour) -> dict[str, Any]:
    _check_token(request, settings)
    limit = settings.ngsi_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"at most {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"at most {limit} bytes")
    zones = await _zones(request)
    inbox = await _inbox(request)
    try:
        result = await run_in_threadpool(inbox.receive, body, flavour, zones, datetime.now(UTC))
    except NotANotification as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    except KafkaError as exc:
        log.warning("NGSI notification not published: %s", type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "broker down") from None
    for r in result.rejects[:20]:
        log.info("NGSI %s notification: rejected %s", flavour, r)
    return result.body()


@router.post("/notify/v2", response_model=NotificationReceiptOut)
async def notify_v2(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """An NGSI v2 notification ({subscriptionId, data: [entities]})."""
    return await _receive(request, settings, "v2")


@router.post("/notify/ld", response_model=NotificationReceiptOut)
async def notify_ld(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """An NGSI-LD notification ({id, type: Notification, subscriptionId, data})."""
    return await _receive(request, settings, "ld")
