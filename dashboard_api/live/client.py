"""One websocket client as the hub sees it: what it wants, how far it has been sent, and
how a frame reaches it: written straight to its connection (a FrameSink), or handed to
its sender task."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from dashboard_api.live.conflate import ConflatingQueue
from dashboard_api.live.filters import LiveFilter
from dashboard_api.live.frames import OutFrame


class FrameSink(Protocol):
    """A connection the pacer writes encoded frames to itself (dashboard_api/live/wire.py)."""

    @property
    def busy(self) -> bool:
        """Behind (earlier frames still waiting to be written) or closing."""
        ...

    def write(self, frame: OutFrame) -> None: ...


@dataclass(eq=False)  # identity, so clients can live in a set
class Client:
    framed: bool = False  # /ws/live items rather than bare states (/ws/areas)
    filter: LiveFilter | None = None
    operator: bool = False  # also receives alert events
    cursor: int = 0  # hub seq up to which this client has everything its filter wants
    queue: ConflatingQueue = field(default_factory=ConflatingQueue)  # pong, reset, alerts
    conflated: int = 0  # states replaced before this client's turn came
    slot: int = 0  # which of the pacer's ticks serves it
    last_frame_at: float = 0.0  # monotonic; a heartbeat follows a quiet spell
    sink: FrameSink | None = None  # set by attach(): frames are written, no sender task
    _frame: OutFrame | None = None
    _in_flight: bool = False
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def busy(self) -> bool:
        """Still sending an earlier frame: skip it, it is lagging."""
        if self.sink is not None:
            return self.sink.busy
        return self._frame is not None or self._in_flight

    def hand(self, frame: OutFrame) -> None:
        if self.sink is not None:
            self.sink.write(frame)
            return
        self._frame = frame
        self._ready.set()

    def attach(self, sink: FrameSink) -> None:
        """From now on frames are written to `sink` by the pacer itself. A frame handed
        before (while the route was still sending the snapshot) is written first."""
        self.sink = sink
        frame, self._frame = self._frame, None
        if frame is not None:
            sink.write(frame)

    async def next_frame(self) -> OutFrame:
        """For the client's sender: wait for a frame. Asking again means the last one has
        been sent, which is what makes the client free for the pacer."""
        self._in_flight = False
        while self._frame is None:
            self._ready.clear()
            await self._ready.wait()
        frame, self._frame = self._frame, None
        self._in_flight = True
        return frame
