"""Assembles the FastAPI application: `uvicorn dashboard_api.main:app`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool

from alerts.delivery import record_delivery_report
from alerts.providers.base import DeliveryReport
from alerts.providers.kannel_callback import build_kannel_dlr_router
from citypulse.logs import configure_logging
from citypulse.topics import AREA_STATE
from dashboard_api.api.main import api_router
from dashboard_api.core.config import ApiSettings, get_api_settings
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.core.middleware import observe_requests, rate_limit
from dashboard_api.core.ratelimit import RateLimiter
from dashboard_api.live.alert_feed import AlertFeed
from dashboard_api.live.hub import AreaStateHub
from dashboard_api.store.users import seed_user
from sensors.registry import load_hotspots

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"


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


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_api_settings()
    pool = AsyncConnectionPool(settings.db_conninfo, min_size=1, max_size=10, open=False)
    await pool.open(wait=False)
    districts = {h.code: h.district for h in load_hotspots()}
    hub = AreaStateHub(settings.kafka_bootstrap, settings.topic(AREA_STATE.suffix), districts)
    await hub.start()
    feed = AlertFeed(pool, hub, settings.alert_poll_s)
    await feed.start()
    seeding = asyncio.create_task(seed_users(pool, settings), name="seed-users")
    app.state.pool, app.state.hub = pool, hub
    app.state.metrics.hub = hub
    try:
        yield
    finally:
        seeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await seeding
        await feed.stop()
        await hub.stop()
        await pool.close()


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_api_settings()
    if settings.log_format == "json":  # text: uvicorn's own logging stays as it was
        configure_logging("json")
    metrics = ApiMetrics()

    async def record_dlr(report: DeliveryReport) -> None:
        await record_delivery_report(get_api_settings().db_conninfo, report)
        metrics.delivery_reports.labels(status=report.status).inc()

    app = FastAPI(
        title="CityPulse",
        version="0.1.0",
        lifespan=lifespan,
        description="Live crowd-safety states, history, alerts and configuration.",
    )
    app.state.metrics = metrics
    app.include_router(api_router)
    # Kannel calls back here with delivery reports (the dlr-url of every sendsms).
    app.include_router(build_kannel_dlr_router(record_dlr), tags=["sms"])
    limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    app.middleware("http")(rate_limit(limiter, metrics))
    # Added last, so it runs first: refused requests are counted and carry a request id.
    app.middleware("http")(observe_requests(metrics))
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
    )
    # Last: the dashboard's files answer every path no route claimed.
    app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app


app = create_app()
