"""The real live routes in a real uvicorn on loopback, in the test's event loop: shared by
the websocket wire tests and the GC policy's churn test."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI

from dashboard_api.api.routes import live
from dashboard_api.core.config import ApiSettings
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.live.hub import AreaStateHub


@contextlib.asynccontextmanager
async def live_api(hub: AreaStateHub, ws: Any, deflate: bool) -> AsyncIterator[str]:
    """Serve `hub` with websocket protocol `ws`; yields the server's ws:// base URL."""
    app = FastAPI()
    app.include_router(live.router)
    app.state.hub = hub
    app.state.api_settings = ApiSettings(ws_min_frame_interval_s=0.02, ws_heartbeat_s=60)
    app.state.metrics = ApiMetrics()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, ws=ws, ws_per_message_deflate=deflate, lifespan="off",
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        await hub.stop()
        sock.close()
