"""Decides when each client gets a frame, and renders each distinct frame once per tick.

Clients are spread over SLOTS groups; one tick serves one group, so a round of all
groups takes one frame interval. The interval grows with the number of clients so the
process sends about `frames_per_s` frames in all: the cost is bounded by frames, not by
updates, and the load is spread over the interval instead of arriving in one burst.
Clients of a group are served together, so they share a cursor and, with the same
filter, the same frame text. A client still sending its last frame is skipped: it keeps
its older cursor and catches up later with one state per key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from dashboard_api.live.client import Client
from dashboard_api.live.entries import LatestStates
from dashboard_api.live.frames import OutFrame, TickFrames, heartbeat_frame, live_frame

log = logging.getLogger(__name__)
SLOTS = 10


@dataclass(frozen=True)
class Pacing:
    min_interval_s: float = 0.1  # per client: states gather between frames
    # Frames per second the process aims to send: 0.5 s per client at 10,000 clients.
    # Affordable because a shared frame is encoded once and written to each transport
    # (wire.py); with permessage-deflate every frame is compressed per client instead,
    # and clients the process cannot keep up with are skipped and conflated. 25,000
    # measured no better: the viewers' own CPU grows with the frames they get, and on
    # the 2-core bench machine they share the API's cores (docs/benchmarks.md).
    frames_per_s: float = 20_000.0
    heartbeat_s: float = 15.0

    def interval_s(self, clients: int) -> float:
        return max(self.min_interval_s, clients / self.frames_per_s)


class SendPacer:
    def __init__(self, states: LatestStates, view: Callable[[], tuple[int, str]]) -> None:
        self.states = states
        self.view = view  # the hub's current (seq, epoch)
        self.pacing = Pacing()
        self.clients: set[Client] = set()
        self._slots: list[set[Client]] = [set() for _ in range(SLOTS)]
        self._joined = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, client: Client) -> None:
        client.slot = min(range(SLOTS), key=lambda s: len(self._slots[s]))
        client.last_frame_at = time.monotonic()
        self._slots[client.slot].add(client)
        self.clients.add(client)
        self._joined.set()
        if self._task is None:
            with contextlib.suppress(RuntimeError):  # no loop: a test drives tick() itself
                self._task = asyncio.get_running_loop().create_task(
                    self._run(), name="ws-send-pacer"
                )

    def remove(self, client: Client) -> None:
        self._slots[client.slot].discard(client)
        self.clients.discard(client)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def tick(self, slot: int, now: float | None = None) -> TickFrames:
        """Hand a frame to each free client of the slot that has something to send."""
        seq, epoch = self.view()
        frames = TickFrames(self.states, seq, epoch)
        now = time.monotonic() if now is None else now
        for client in self._slots[slot]:
            if not client.busy:
                frame = self._frame_for(client, frames, now)
                if frame is not None:
                    client.hand(frame)
                    client.last_frame_at = now
        return frames

    def _frame_for(self, client: Client, frames: TickFrames, now: float) -> OutFrame | None:
        delta = frames.delta(client.framed, client.filter, client.cursor)
        client.conflated += delta.superseded
        client.cursor = frames.seq  # also when nothing matched: nothing was wanted
        if len(client.queue):  # pong, reset or alerts: this client's own frame
            items = client.queue.take() + delta.items
            return OutFrame(live_frame("delta", frames.seq, frames.epoch, items))
        if delta.frame is not None:
            return delta.frame
        if now - client.last_frame_at >= self.pacing.heartbeat_s:
            return OutFrame(heartbeat_frame(frames.seq if client.framed else None))
        return None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        slot, due = 0, loop.time()
        while True:
            if not self.clients:
                self._joined.clear()
                await self._joined.wait()
                due = loop.time()
            try:
                self.tick(slot)
            except Exception:  # a bug here must not silence every client for good
                log.exception("websocket pacer tick failed")
            slot = (slot + 1) % SLOTS
            step = self.pacing.interval_s(len(self.clients)) / SLOTS
            # Late ticks catch up, but never by more than one round in a burst.
            due = max(due + step, loop.time() - step * SLOTS)
            await asyncio.sleep(max(0.0, due - loop.time()))
