"""Websocket streams of area states: /ws/areas (everything) and /ws/live (filtered)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import psycopg
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from dashboard_api.api.deps import SettingsDep, user_from_token
from dashboard_api.core.config import ApiSettings
from dashboard_api.live.client import Client
from dashboard_api.live.filters import FilterError, parse_filter
from dashboard_api.live.frames import live_frame
from dashboard_api.live.hub import AreaStateHub
from dashboard_api.live.pacer import Pacing
from dashboard_api.live.protocol import (
    CLOSE_POLICY,
    Auth,
    Ping,
    ProtocolError,
    Subscribe,
    parse_client_message,
)
from dashboard_api.live.wire import DirectFrameSink, frame_sink
from dashboard_api.schemas.auth import ROLE_RANK, UserPublic

router = APIRouter(tags=["live"])
CONTROL_KEYS = ("auth", "since_seq", "epoch")
# Credentials never ride in the URL: proxies and access logs keep URLs (issue 13).
URL_CREDENTIALS = ("token", "access_token", "ticket")


def _pace(hub: AreaStateHub, settings: ApiSettings) -> None:
    hub.pacer.pacing = Pacing(
        settings.ws_min_frame_interval_s, settings.ws_frames_per_s, settings.ws_heartbeat_s
    )


async def _send_loop(websocket: WebSocket, client: Client) -> None:
    """Send what the pacer hands over; a client that cannot keep up simply lags here.
    Only for connections without a sink (wire.py): the pacer writes to the others."""
    while True:
        await websocket.send_text((await client.next_frame()).text)


async def _until_disconnect(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass  # /ws/areas takes no messages


@router.websocket("/ws/areas")
async def ws_areas(websocket: WebSocket, settings: SettingsDep) -> None:
    """Every area and zone state: the current snapshot first, then each change."""
    hub: AreaStateHub = websocket.app.state.hub
    await websocket.accept()
    _pace(hub, settings)
    sink = frame_sink(websocket)
    client = hub.subscribe()
    try:
        await _serve(websocket, client, sink, lambda: _until_disconnect(websocket))
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(client)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    websocket.app.state.metrics.ws_closed.labels(code=str(code)).inc()
    with contextlib.suppress(Exception):
        await websocket.close(code, reason)


async def _receive_loop(
    websocket: WebSocket, hub: AreaStateHub, client: Client, settings: ApiSettings
) -> None:
    # Replies go through the client's small queue, so they ride in the next delta.
    areas, districts = hub.districts.keys(), set(hub.districts.values())
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        parsed = parse_client_message(
            message.get("text"),
            message.get("bytes"),
            settings.ws_max_message_bytes,
            areas,
            districts,
        )
        if isinstance(parsed, Ping):
            client.queue.put("pong", b'{"kind":"pong"}')
        elif isinstance(parsed, Subscribe):
            hub.refilter(client, parsed.filter)
        elif isinstance(parsed, Auth):
            raise ProtocolError(CLOSE_POLICY, "auth only as the first message (open with auth=1)")


class SignInError(Exception):
    """Why a connection opened with auth=1 did not sign in (closed with 1008)."""


async def _sign_in(websocket: WebSocket, settings: ApiSettings) -> UserPublic:
    """The first message must be {"type":"auth","token":...} within ws_auth_timeout_s."""
    try:
        async with asyncio.timeout(settings.ws_auth_timeout_s):
            message = await websocket.receive()
    except TimeoutError:
        raise SignInError("no auth message in time") from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    try:
        parsed = parse_client_message(
            message.get("text"), message.get("bytes"), settings.ws_max_message_bytes, (), ()
        )
    except ProtocolError as exc:
        raise SignInError(exc.reason) from None
    if not isinstance(parsed, Auth):
        raise SignInError("the first message must be auth")
    try:
        user = await user_from_token(parsed.token, settings, websocket.app.state.pool)
    except psycopg.Error:
        raise SignInError("cannot check the account now, retry shortly") from None
    if user is None:
        raise SignInError("invalid or expired token")
    return user


@router.websocket("/ws/live")
async def ws_live(websocket: WebSocket, settings: SettingsDep) -> None:
    """Filtered live states (query: district, areas, min_stage, zones, since_seq, epoch,
    auth): a snapshot, then deltas and heartbeats; operators also get alert events.
    With auth=1 the first message signs in: {"type":"auth","token":"<bearer token>"}."""
    hub: AreaStateHub = websocket.app.state.hub
    params = dict(websocket.query_params)
    auth, since, epoch = (params.pop(k, None) for k in CONTROL_KEYS)
    await websocket.accept()
    if any(k in params for k in URL_CREDENTIALS):
        return await _close(websocket, CLOSE_POLICY, "no tokens in URLs: open with auth=1")
    user = None
    if auth is not None:
        try:
            user = await _sign_in(websocket, settings)
        except SignInError as exc:
            return await _close(websocket, CLOSE_POLICY, str(exc))
        except WebSocketDisconnect:
            return None
    try:
        live_filter = parse_filter(params, hub.districts.keys(), set(hub.districts.values()))
        since_seq = int(since) if since is not None else None
        if since_seq is not None and since_seq < 0:
            raise ValueError
    except FilterError as exc:
        return await _close(websocket, CLOSE_POLICY, str(exc)[:120])
    except ValueError:
        return await _close(websocket, CLOSE_POLICY, "since_seq must be a non-negative integer")
    operator = user is not None and ROLE_RANK[user.role] >= ROLE_RANK["operator"]
    _pace(hub, settings)
    client = hub.subscribe(framed=True, live_filter=live_filter, operator=operator, snapshot=False)
    resumed = since_seq is not None and epoch == hub.epoch and since_seq <= hub.seq
    # No await from subscribe to here: the snapshot and the client's cursor agree.
    items = hub.snapshot(client, since_seq if resumed and since_seq is not None else 0)
    role = user.role if user else "viewer"
    extra = f'"resumed":{"true" if resumed else "false"},"role":"{role}",'
    sink = frame_sink(websocket)
    try:
        await websocket.send_text(live_frame("snapshot", client.cursor, hub.epoch, items, extra))
        await _serve(
            websocket, client, sink, lambda: _receive_loop(websocket, hub, client, settings)
        )
    except ProtocolError as error:
        await _close(websocket, error.code, error.reason)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(client)


async def _serve(
    websocket: WebSocket,
    client: Client,
    sink: DirectFrameSink | None,
    receive: Callable[[], Coroutine[Any, Any, None]],
) -> None:
    """Until the client leaves (`receive` returns) or breaks the protocol (a
    ProtocolError of its messages is raised). Receiving also notices a client that left
    while nothing was being sent to it."""
    if sink is not None:  # the pacer writes the frames: only the client's messages here
        client.attach(sink)
        await receive()
        return
    tasks = [
        asyncio.create_task(_send_loop(websocket, client)),
        asyncio.create_task(receive()),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if isinstance(error, ProtocolError):
                raise error
    finally:
        for task in tasks:
            task.cancel()
        # Collect both tasks so a send that failed on a closed socket is not reported
        # later as an unretrieved task exception.
        await asyncio.gather(*tasks, return_exceptions=True)
