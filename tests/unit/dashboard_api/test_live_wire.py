"""Frames encoded once and written to every client's transport (dashboard_api/live/wire.py):
the bytes are what the websockets library would write, the routes use the path under the
protocol class `citypulse up` runs, fall back to send_text otherwise, and a client that
never reads is skipped with its buffer bounded. Real uvicorn on loopback, in process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

import pytest
from uvicorn.importer import import_from_string
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from citypulse.cli.stack import APP_PROCESSES
from citypulse.config import StackSettings
from dashboard_api.live import frames as frames_module
from dashboard_api.live.frames import OutFrame
from dashboard_api.live.hub import AreaStateHub
from dashboard_api.live.pacer import SLOTS
from dashboard_api.live.wire import WRITE_HIGH_WATER, DirectFrameSink, SharedFrameProtocol
from tests.unit.dashboard_api.live_server import live_api

DISTRICTS = {"POI001": "중구", "POI009": "종로구"}


@pytest.mark.parametrize(
    "text",
    ["", "{}", "x" * 125, "x" * 126, "한" * 30_000, '{"a":"' + "é" * 40_000 + '"}'],
    ids=["empty", "tiny", "125", "126", "16-bit length", "64-bit length"],
)
def test_wire_bytes_are_what_the_websockets_library_writes(text: str) -> None:
    library = ServerProtocol(state=State.OPEN)
    library.send_text(text.encode())
    wire_bytes = OutFrame(text).wire
    assert library.data_to_send() == [wire_bytes]
    reader = ClientProtocol(parse_uri("ws://x/"), state=State.OPEN)
    reader.receive_data(wire_bytes)
    (frame,) = reader.events_received()
    assert isinstance(frame, Frame) and frame.opcode is Opcode.TEXT and frame.fin
    assert bytes(frame.data).decode() == text and reader.parser_exc is None


class _Sink:
    def __init__(self) -> None:
        self.busy = False
        self.written: list[bytes] = []

    def write(self, frame: OutFrame) -> None:
        self.written.append(frame.wire)


def test_one_encoding_per_frame_shared_by_the_clients_of_a_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded: list[str] = []
    encode = frames_module.wire_text_frame

    def spy(text: str) -> bytes:
        encoded.append(text)
        return encode(text)

    monkeypatch.setattr(frames_module, "wire_text_frame", spy)
    hub = AreaStateHub("x", "y", DISTRICTS)
    sinks = []
    for _ in range(SLOTS * 3):
        c = hub.subscribe(framed=True, snapshot=False)
        hub.snapshot(c)
        c.attach(sink := _Sink())
        sinks.append(sink)
    hub.publish("POI001", json.dumps({"area_code": "POI001", "stage": "normal"}).encode())
    hub.pacer.tick(0)
    served = [s.written[0] for s in sinks if s.written]
    assert len(served) == 3 and served[0] is served[1] is served[2] and len(encoded) == 1
    assert json.loads(encoded[0])["items"][0]["state"]["area_code"] == "POI001"


def test_a_busy_sink_is_skipped_keeps_its_cursor_then_gets_the_newest_per_key() -> None:
    hub = AreaStateHub("x", "y", DISTRICTS)
    c = hub.subscribe(framed=True, snapshot=False)
    hub.snapshot(c)
    c.attach(sink := _Sink())
    sink.busy = True
    for people in range(5):
        hub.publish("POI001", json.dumps({"area_code": "POI001", "people": people}).encode())
        for slot in range(SLOTS):
            hub.pacer.tick(slot)
    assert sink.written == [] and c.cursor == 0
    sink.busy = False
    for slot in range(SLOTS):
        hub.pacer.tick(slot)
    (only,) = sink.written
    assert b'"people": 4' in only and only.count(b'"kind":"state"') == 1 and c.cursor == 5


def test_citypulse_up_runs_the_api_with_the_shared_frame_protocol() -> None:
    api = next(p for p in APP_PROCESSES if p.name == "api")
    argv = api.argv(StackSettings())
    assert import_from_string(argv[argv.index("--ws") + 1]) is SharedFrameProtocol
    assert argv[argv.index("--ws-per-message-deflate") + 1] == "false"


def _publish(hub: AreaStateHub, area: str, people: int, pad: str = "") -> None:
    body = {"area_code": area, "zone_id": None, "stage": "normal", "people": people}
    hub.publish(area, json.dumps(body | ({"pad": pad} if pad else {})).encode())


async def _next(ws: ClientConnection, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            body: dict[str, Any] = json.loads(await ws.recv())
            if body["type"] == kind:
                return body


@pytest.mark.parametrize(
    ("ws", "deflate", "direct"),
    [
        ("dashboard_api.live.wire:SharedFrameProtocol", False, True),
        ("dashboard_api.live.wire:SharedFrameProtocol", True, False),  # deflate negotiated
        ("auto", False, False),  # uvicorn's own protocol: no sink
    ],
    ids=["shared", "deflate-falls-back", "plain-uvicorn-falls-back"],
)
async def test_live_routes_write_shared_frames_when_they_can_and_send_text_otherwise(
    ws: str, deflate: bool, direct: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    real_write = DirectFrameSink.write

    def spy(self: DirectFrameSink, frame: OutFrame) -> None:
        writes.append(frame.wire)
        real_write(self, frame)

    monkeypatch.setattr(DirectFrameSink, "write", spy)
    hub = AreaStateHub("x", "y", DISTRICTS)
    _publish(hub, "POI001", 0)
    async with (
        live_api(hub, ws, deflate) as base,
        connect(f"{base}/ws/live") as a,
        connect(f"{base}/ws/live?areas=POI009") as b,
        connect(f"{base}/ws/areas") as c,
    ):
        assert _keys((await _next(a, "snapshot"))["items"]) == ["POI001"]
        assert (await _next(b, "snapshot"))["items"] == []
        assert [s["area_code"] for s in (await _next(c, "states"))["states"]] == ["POI001"]
        assert bool(a.protocol.extensions) is deflate
        _publish(hub, "POI009", 1)
        assert _keys((await _next(a, "delta"))["items"]) == ["POI009"]
        assert _keys((await _next(b, "delta"))["items"]) == ["POI009"]
        assert [s["area_code"] for s in (await _next(c, "states"))["states"]] == ["POI009"]
        await b.send('{"type":"ping"}')
        assert (await _next(b, "delta"))["items"] == [{"kind": "pong"}]
        assert len(hub.clients) == 3
        assert all(isinstance(client.sink, DirectFrameSink) is direct for client in hub.clients)
        assert (len(writes) >= 4) is direct  # three deltas and a pong at least, or none
        await a.send("not json")  # a bad message still closes with its code
        async with asyncio.timeout(5):
            await a.wait_closed()
        assert a.close_code == 1008
    async with asyncio.timeout(5):
        while hub.clients:  # each route unsubscribed its client on the way out
            await asyncio.sleep(0.01)


def _keys(items: list[dict[str, Any]]) -> list[str]:
    return [i["state"]["area_code"] for i in items if i["kind"] == "state"]


async def test_a_client_that_never_reads_is_skipped_and_its_buffer_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    largest, offered = [0], [0]
    real_write = DirectFrameSink.write

    def spy(self: DirectFrameSink, frame: OutFrame) -> None:
        largest[0] = max(largest[0], len(frame.wire))
        real_write(self, frame)

    monkeypatch.setattr(DirectFrameSink, "write", spy)
    hub = AreaStateHub("x", "y", DISTRICTS)
    async with live_api(hub, SharedFrameProtocol, False) as base:
        port = int(base.rsplit(":", 1)[1])
        # The handshake by hand, then never a byte read, with a tiny receive window.
        slow = socket.socket()
        # Closed before the server stops, which waits for its connections to close.
        with contextlib.closing(slow):
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_connect(slow, ("127.0.0.1", port))
            await loop.sock_sendall(
                slow,
                b"GET /ws/live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            )
            assert (await loop.sock_recv(slow, 4096)).startswith(b"HTTP/1.1 101")
            async with asyncio.timeout(5):
                while not hub.clients:
                    await asyncio.sleep(0.01)
            (slow_client,) = hub.clients
            async with connect(f"{base}/ws/live", max_size=None) as fast:
                await _next(fast, "snapshot")
                pad = "x" * 100_000
                busy_since: int | None = None
                for people in range(60):  # 60 x 2 x 100 KB: far beyond the socket buffers
                    _publish(hub, "POI001", people, pad)
                    _publish(hub, "POI009", people, pad)
                    offered[0] += 200_000
                    body = await _next(fast, "delta")
                    assert body["seq"] == hub.seq  # the fast one keeps up throughout
                    if slow_client.busy and busy_since is None:
                        busy_since = slow_client.cursor
                sink = slow_client.sink
                assert isinstance(sink, DirectFrameSink)
                held = sink._transport.get_write_buffer_size()
                assert busy_since is not None and slow_client.busy
                assert slow_client.cursor == busy_since < hub.seq - 60  # skipped since: lagging
                # It holds at most the high-water mark and one frame of all it was offered.
                assert held <= WRITE_HIGH_WATER + largest[0] and offered[0] > 20 * held
