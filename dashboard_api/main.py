"""Assembles the FastAPI application: `uvicorn dashboard_api.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from alerts.delivery import record_delivery_report
from alerts.providers.base import DeliveryReport
from alerts.providers.kannel_callback import build_kannel_dlr_router
from citypulse.topics import AREA_STATE
from dashboard_api.api.main import api_router
from dashboard_api.core.config import get_api_settings
from dashboard_api.live.hub import AreaStateHub


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_api_settings()
    pool = AsyncConnectionPool(settings.db_conninfo, min_size=1, max_size=10, open=False)
    await pool.open(wait=False)
    hub = AreaStateHub(settings.kafka_bootstrap, settings.topic(AREA_STATE.suffix))
    await hub.start()
    app.state.pool, app.state.hub = pool, hub
    try:
        yield
    finally:
        await hub.stop()
        await pool.close()


async def _record_dlr(report: DeliveryReport) -> None:
    await record_delivery_report(get_api_settings().db_conninfo, report)


app = FastAPI(title="CityPulse", version="0.1.0", lifespan=lifespan)
app.include_router(api_router)
# Kannel calls back here with delivery reports (the dlr-url of every sendsms).
app.include_router(build_kannel_dlr_router(_record_dlr), tags=["sms"])
