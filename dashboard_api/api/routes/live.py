"""Websocket streams of area states."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from dashboard_api.api.deps import SettingsDep
from dashboard_api.live.hub import AreaStateHub, envelope, heartbeat_frame

router = APIRouter(tags=["live"])


@router.websocket("/ws/areas")
async def ws_areas(websocket: WebSocket, settings: SettingsDep) -> None:
    """Every area and zone state: the current snapshot first, then each change."""
    hub: AreaStateHub = websocket.app.state.hub
    await websocket.accept()
    client = hub.subscribe()
    try:
        while True:
            batch = await client.queue.get_batch(timeout_s=settings.ws_heartbeat_s)
            await websocket.send_text(envelope(batch) if batch else heartbeat_frame())
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(client)
