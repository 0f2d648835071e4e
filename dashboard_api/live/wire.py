"""The one place the API writes websocket frames itself instead of through ASGI's send.

Why: at 10,000 clients the cost that limited the fan-out was the per-client send path,
not rendering (a frame is rendered once per tick and shared): each client's frame went
through a sender task woken for it, Starlette, uvicorn and the websockets library, which
UTF-8 encodes and frames the same text again for every client. Here a frame is encoded
once to the bytes of a complete websocket TEXT frame (frames.OutFrame.wire, built by the
websockets library's own serializer) and the pacer writes those same bytes to each
client's transport during its tick: no task, no copy, no re-encoding per client.

ASGI has no way to reach the transport, so the API runs uvicorn with the protocol class
below (`--ws dashboard_api.live.wire:SharedFrameProtocol`, see citypulse/cli/stack.py):
uvicorn's own websockets-sansio protocol plus one scope extension, EXTENSION, carrying a
DirectFrameSink. Only that class is relied on; the route falls back to
websocket.send_text whenever there is no usable sink: permessage-deflate negotiated (its
compression context is per connection, so bytes cannot be shared), another server or
protocol class, or Starlette's TestClient.
"""

from __future__ import annotations

from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

from dashboard_api.live.frames import OutFrame

EXTENSION = "citypulse.frame_sink"
# A client with more than this still waiting in its transport's buffer (its socket
# buffers being full already) is busy: the pacer skips it and it keeps its cursor, as a
# client whose sender is still sending. What it holds is this plus at most one frame.
WRITE_HIGH_WATER = 64 * 1024


class DirectFrameSink:
    """Writes prebuilt frames to one uvicorn websocket connection."""

    __slots__ = ("_conn", "_protocol", "_transport")

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol
        self._transport = protocol.transport
        self._conn = protocol.conn  # the websockets state machine uvicorn drives

    @property
    def usable(self) -> bool:
        """Frames without extensions: what OutFrame.wire holds is what the library would
        write. With permessage-deflate each connection compresses its own way."""
        return not self._conn.extensions

    @property
    def open(self) -> bool:
        """Open, and no close frame sent: nothing may follow a close frame."""
        p = self._protocol
        return (
            self._conn.state is State.OPEN
            and not p.close_sent
            and not p.disconnected
            and not self._transport.is_closing()
        )

    @property
    def busy(self) -> bool:
        return not self.open or self._transport.get_write_buffer_size() > WRITE_HIGH_WATER

    def write(self, frame: OutFrame) -> None:
        if self.open:
            self._transport.write(frame.wire)


class SharedFrameProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, offering the route a DirectFrameSink."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # uvicorn sets self.scope only for a handshake it accepts, before the ASGI task
        # first runs; a refused handshake has no scope and no app.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope.setdefault("extensions", {})[EXTENSION] = {"sink": DirectFrameSink(self)}


def frame_sink(websocket: WebSocket) -> DirectFrameSink | None:
    """The accepted connection's sink, or None: send through websocket.send_text."""
    extension = (websocket.scope.get("extensions") or {}).get(EXTENSION) or {}
    sink = extension.get("sink")
    return sink if isinstance(sink, DirectFrameSink) and sink.usable else None
