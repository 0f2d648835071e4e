"""Prometheus metrics of the API: requests, websocket fan-out, live states, open alerts."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from dashboard_api.api.deps import HubDep, PoolDep
from dashboard_api.core import metrics as m
from dashboard_api.store.operations import open_alerts_by_stage

router = APIRouter(tags=["metrics"])


async def _open_alerts(pool: PoolDep) -> dict[m.Labels, float] | None:
    try:
        async with asyncio.timeout(2), pool.connection() as conn:
            rows = await open_alerts_by_stage(conn)
    except Exception:  # the scrape must still answer while the database is away
        return None
    return {(("stage", r["stage"]), ("status", r["status"])): r["n"] for r in rows}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(hub: HubDep, pool: PoolDep) -> PlainTextResponse:
    """Metrics in the Prometheus text format."""
    age = None if hub.last_message_at is None else time.monotonic() - hub.last_message_at
    parts = [
        m.render_counter(m.HTTP_REQUESTS),
        m.render_counter(m.HTTP_SECONDS),
        m.render_counter(m.RATE_LIMITED),
        m.render_counter(m.WS_CLOSED),
        m.render_family(
            "citypulse_ws_clients", "gauge", "Connected websocket clients.", [len(hub.clients)]
        ),
        m.render_family(
            "citypulse_ws_states_behind",
            "gauge",
            "States published that connected clients have not been sent yet (summed).",
            [sum(max(0, hub.seq - c.cursor) for c in hub.clients)],
        ),
        m.render_family(
            "citypulse_ws_lagging_clients",
            "gauge",
            "Clients still sending their previous frame when their turn came.",
            [sum(1 for c in hub.clients if c.busy)],
        ),
        m.render_family(
            "citypulse_ws_conflated_total",
            "counter",
            "States superseded before a lagging client was sent them (connected clients).",
            [hub.conflated_total()],
        ),
        m.render_family(
            "citypulse_hub_states_received_total",
            "counter",
            "Area and zone states read from Kafka.",
            [hub.states_received],
        ),
        m.render_family(
            "citypulse_hub_keys",
            "gauge",
            "Areas and zones with a current state.",
            [len(hub.latest)],
        ),
        m.render_family(
            "citypulse_hub_kafka_connected",
            "gauge",
            "1 when reading Kafka.",
            [1 if hub.connected else 0],
        ),
        m.render_family(
            "citypulse_hub_alert_events_total",
            "counter",
            "Alert changes sent to operator streams.",
            [hub.alert_events],
        ),
    ]
    if age is not None:
        parts.append(
            m.render_family(
                "citypulse_hub_last_state_age_seconds",
                "gauge",
                "Seconds since the newest state.",
                [age],
            )
        )
    alerts = await _open_alerts(pool)
    if alerts is not None:
        parts.append(
            m.render_family(
                "citypulse_alerts_open", "gauge", "Open and acknowledged alerts.", alerts
            )
        )
    return PlainTextResponse("".join(parts), media_type="text/plain; version=0.0.4")
