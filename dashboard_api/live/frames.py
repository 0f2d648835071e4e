"""Websocket frame text, and the deltas of one pacer tick shared between clients. Pure.

Clients served in the same tick with the same filter and the same cursor (the common
case: most viewers have no filter and were last served together) get the same frame, so
each distinct (stream, filter, cursor) is rendered once per tick, not once per client,
and so is its encoding for the wire (OutFrame.wire).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from websockets.frames import Frame, Opcode

from dashboard_api.live.entries import LatestStates, keep
from dashboard_api.live.filters import LiveFilter


def envelope(messages: list[bytes]) -> str:
    """Join already-serialised states into one JSON frame without re-parsing them."""
    return '{"type":"states","states":[' + b",".join(messages).decode() + "]}"


def live_frame(kind: str, seq: int, epoch: str, items: list[bytes], extra: str = "") -> str:
    """A /ws/live frame: snapshot or delta, items already serialised."""
    head = f'{{"type":"{kind}","seq":{seq},"epoch":"{epoch}",{extra}"items":['
    return head + b",".join(items).decode() + "]}"


def heartbeat_frame(seq: int | None = None) -> str:
    body: dict[str, object] = {"type": "heartbeat", "ts": time.time()}
    if seq is not None:
        body["seq"] = seq
    return json.dumps(body)


def wire_text_frame(text: str) -> bytes:
    """The bytes of one complete, unmasked websocket TEXT frame carrying `text`: what the
    websockets library itself writes for a server's send_text without extensions (no
    permessage-deflate), built by its own serializer rather than by hand."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


class OutFrame:
    """One frame for one or many clients: its text, and its wire bytes built on first use
    and then shared by every client written to directly (dashboard_api/live/wire.py)."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = wire_text_frame(self.text)
        return self._wire


@dataclass(frozen=True)
class Delta:
    items: list[bytes]  # rendered for the stream: /ws/live items or bare states
    frame: OutFrame | None  # the whole frame, None when there is nothing to send
    superseded: int  # states published after the cursor and already replaced


class TickFrames:
    """Deltas up to one hub seq, built on first use and shared for the rest of the tick."""

    def __init__(self, states: LatestStates, seq: int, epoch: str) -> None:
        self.states, self.seq, self.epoch = states, seq, epoch
        self._built: dict[tuple[bool, LiveFilter | None, int], Delta] = {}
        self.builds = 0  # how many distinct deltas this tick rendered

    def delta(self, framed: bool, live_filter: LiveFilter | None, cursor: int) -> Delta:
        key = (framed, live_filter, cursor)
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = self._build(framed, live_filter, cursor)
        return built

    def _build(self, framed: bool, live_filter: LiveFilter | None, cursor: int) -> Delta:
        self.builds += 1
        newer = self.states.newer_than(cursor)
        chosen = keep(self.states, newer, cursor, live_filter)
        # Cursor 0 is a fresh view (a reset or /ws/areas' first frame), not a lag.
        superseded = self.seq - cursor - len(newer) if cursor else 0
        if framed:
            items = [e.item for e in chosen]
            text = live_frame("delta", self.seq, self.epoch, items) if items else None
        else:
            items = [e.raw for e in chosen]
            text = envelope(items) if items else None
        return Delta(items, None if text is None else OutFrame(text), superseded)
