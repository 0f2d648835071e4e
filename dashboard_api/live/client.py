"""One websocket client as the hub sees it: what it wants, how far it has been sent, and
the one frame handed to its sender."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from dashboard_api.live.conflate import ConflatingQueue
from dashboard_api.live.filters import LiveFilter


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
    _frame: str | None = None
    _in_flight: bool = False
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def busy(self) -> bool:
        """Handed a frame its sender has not finished sending: skip it, it is lagging."""
        return self._frame is not None or self._in_flight

    def hand(self, frame: str) -> None:
        self._frame = frame
        self._ready.set()

    async def next_frame(self) -> str:
        """For the client's sender: wait for a frame. Asking again means the last one has
        been sent, which is what makes the client free for the pacer."""
        self._in_flight = False
        while self._frame is None:
            self._ready.clear()
            await self._ready.wait()
        frame, self._frame = self._frame, None
        self._in_flight = True
        return frame
