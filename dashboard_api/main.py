"""Assembles the FastAPI application: `uvicorn dashboard_api.main:app`.

The API's entry point: the one module of dashboard_api that reads the settings
(`Settings.from_env()`, at import, because uvicorn looks for `app` here).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool

from alerts.delivery import record_delivery_report
from alerts.providers.base import DeliveryReport
from alerts.providers.kannel import KannelProvider
from alerts.providers.kannel_callback import build_kannel_dlr_router
from alerts.providers.settings import SmsSettings
from citypulse.config import StackSettings
from citypulse.logs import configure_logging
from citypulse.settings import Settings
from citypulse.topics import AREA_STATE
from dashboard_api.api.main import api_router
from dashboard_api.api.phone_ack import build_phone_ack_router
from dashboard_api.core import logredact
from dashboard_api.core.addresses import parse_networks
from dashboard_api.core.config import ApiSettings
from dashboard_api.core.errors import bad_parameter, validation_failed
from dashboard_api.core.gcpolicy import GcPolicy
from dashboard_api.core.headers import security_headers
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.core.middleware import (
    BodyLimit,
    RateLimits,
    observe_requests,
    rate_limit,
    refuse_bad_requests,
)
from dashboard_api.core.ratelimit import RateLimiter
from dashboard_api.core.throttle import AddressThrottle, SignInPolicy
from dashboard_api.live.alert_feed import AlertFeed
from dashboard_api.live.hub import AreaStateHub
from dashboard_api.opendata.broker_settings import BrokerPushSettings
from dashboard_api.opendata.push import broker_push
from dashboard_api.store.drills import schema_of as drill_schema
from dashboard_api.store.users import seed_user
from dashboard_api.webapp import install_web
from sensors.registry import load_hotspots

log = logging.getLogger(__name__)


async def seed_users(pool: AsyncConnectionPool, settings: ApiSettings) -> None:
    """The admin and operator from settings; retried until the database answers."""
    while True:
        try:
            async with pool.connection() as conn:
                for name, secret, role in (
                    (settings.admin_username, settings.admin_password, "admin"),
                    (settings.operator_username, settings.operator_password, "operator"),
                ):
                    if await seed_user(conn, name, secret.get_secret_value(), role):
                        log.info("created dashboard user %s (%s)", name, role)
            return
        except Exception as exc:
            log.warning("cannot seed dashboard users yet: %s", type(exc).__name__)
            await asyncio.sleep(2)


def sign_in_policy(settings: ApiSettings) -> SignInPolicy:
    return SignInPolicy(
        free_failures=settings.login_free_failures,
        backoff_base_s=settings.login_backoff_base_s,
        backoff_cap_s=settings.login_backoff_cap_s,
        lock_after=settings.login_lock_after,
        lock_s=settings.login_lock_s,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    stack: StackSettings = app.state.stack_settings
    settings: ApiSettings = app.state.api_settings
    # Short waits: with the database down a request answers 503 in seconds, not hangs;
    # `check` drops connections the database closed (a restart) before a route gets one.
    pool = AsyncConnectionPool(
        stack.db_conninfo,
        min_size=1,
        max_size=10,
        open=False,
        timeout=settings.db_pool_timeout_s,
        kwargs={"connect_timeout": settings.db_connect_timeout_s},
        check=AsyncConnectionPool.check_connection,
    )
    await pool.open(wait=False)
    districts = {h.code: h.district for h in load_hotspots()}
    hub = AreaStateHub(stack.kafka_bootstrap, stack.topic(AREA_STATE.suffix), districts)
    await hub.start()
    feed = AlertFeed(pool, hub, settings.alert_poll_s)
    await feed.start()
    seeding = asyncio.create_task(seed_users(pool, settings), name="seed-users")
    app.state.pool, app.state.hub = pool, hub
    app.state.metrics.hub = hub
    broker: BrokerPushSettings = app.state.broker_settings
    broker_client = httpx.AsyncClient(timeout=broker.timeout_s)
    push = broker_push(broker, lambda: hub.latest, broker_client, app.state.metrics.broker_push)
    if push is not None:
        await push.start()
    # Last: what start-up built is frozen; websocket clients' objects are frozen as they
    # age, so full collections stay short with thousands of clients (core/gcpolicy.py).
    gc_policy = GcPolicy(lambda: hub.departed, lambda: len(hub.clients))
    gc_policy.install()
    app.state.gc_policy = gc_policy
    try:
        yield
    finally:
        gc_policy.uninstall()
        if push is not None:
            await push.stop()
        await broker_client.aclose()
        seeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await seeding
        await feed.stop()
        await hub.stop()
        await pool.close()


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is down, restarting or out of connections: say so, never 500."""
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "database unavailable, retry shortly"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def create_app(
    stack: StackSettings,
    settings: ApiSettings,
    sms: SmsSettings,
    broker: BrokerPushSettings | None = None,
) -> FastAPI:
    logredact.install()
    if stack.log_format == "json":  # text: uvicorn's own logging stays as it was
        configure_logging("json")
    metrics = ApiMetrics()
    app = FastAPI(
        title="CityPulse",
        version="0.1.0",
        lifespan=lifespan,
        description="Live crowd-safety states, history, alerts and configuration.",
        docs_url=None,  # served offline by dashboard_api.webapp
        redoc_url=None,
    )
    app.state.stack_settings, app.state.api_settings = stack, settings
    # None (tests): no push, and no second reading of the environment
    app.state.broker_settings = broker or BrokerPushSettings.model_construct()
    app.state.metrics = metrics
    app.include_router(api_router)

    async def _record_dlr(report: DeliveryReport) -> None:
        await record_delivery_report(stack.db_conninfo, report, handed_to=KannelProvider.name)
        metrics.delivery_reports.labels(status=report.status).inc()

    async def _record_drill_dlr(drill_id: str, report: DeliveryReport) -> None:
        await record_delivery_report(
            stack.db_conninfo, report, handed_to=KannelProvider.name, schema=drill_schema(drill_id)
        )
        metrics.delivery_reports.labels(status=report.status).inc()

    # Kannel calls back here with delivery reports (the signed dlr-url of every sendsms),
    # a drill's with `drill=<id>` (its own secret and outbox).
    dlr_router = build_kannel_dlr_router(
        _record_dlr,
        on_drill_report=_record_drill_dlr,
        secret=sms.dlr_secret,
        allowed_sources=sms.dlr_allowed_sources,
        limiter=RateLimiter(sms.dlr_rate_per_s, sms.dlr_burst),
    )
    app.include_router(dlr_router, tags=["sms"])
    # Recipients acknowledge from the phone: the SMS's signed link and replies via Kannel.
    app.include_router(build_phone_ack_router(sms), tags=["sms"])
    # InterfaceError: a connection the database closed under a running query.
    for error in (psycopg.OperationalError, psycopg.InterfaceError):
        app.add_exception_handler(error, database_unavailable)
    app.add_exception_handler(psycopg.DataError, bad_parameter)
    app.add_exception_handler(RequestValidationError, validation_failed)
    proxies = parse_networks(settings.trusted_proxies)
    app.state.trusted_proxies = proxies
    app.state.sign_in_policy = sign_in_policy(settings)
    app.state.address_throttle = AddressThrottle(
        dataclasses.replace(app.state.sign_in_policy, lock_after=settings.login_address_lock_after)
    )
    limits = RateLimits(
        anonymous=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
        staff=RateLimiter(settings.staff_rate_limit_per_s, settings.staff_rate_limit_burst),
        sms=RateLimiter(sms.dlr_rate_per_s, sms.dlr_burst),
        jwt_secret=settings.jwt_secret.get_secret_value(),
        proxies=proxies,
    )
    app.add_middleware(BodyLimit, max_body_bytes=settings.max_body_bytes)
    app.middleware("http")(refuse_bad_requests(settings.max_body_bytes))
    app.middleware("http")(rate_limit(limits, metrics))
    app.middleware("http")(security_headers(settings.map_tile_url))
    # Added last, so it runs first: refused requests are counted and carry a request id.
    app.middleware("http")(observe_requests(metrics))
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
    )
    # Last: the dashboard's files answer every path no route claimed.
    install_web(app, settings)
    return app


_settings = Settings.from_env()
app = create_app(_settings.stack, _settings.api, _settings.sms, _settings.broker)
