"""A per-client outbox that keeps the latest message per key when the client lags.

One slow websocket client must neither slow the others nor grow memory: its pending
messages are bounded by the number of distinct keys (areas and zones), because a newer
state for a key replaces the older one still waiting.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict


class ConflatingQueue:
    def __init__(self) -> None:
        self._pending: OrderedDict[str, bytes] = OrderedDict()
        self._ready = asyncio.Event()
        self.conflated = 0  # messages replaced before the client read them

    def put(self, key: str, message: bytes) -> None:
        if key in self._pending:
            self.conflated += 1
            del self._pending[key]  # re-append: keep arrival order of the newest states
        self._pending[key] = message
        self._ready.set()

    def clear(self) -> None:
        self._pending.clear()

    def __len__(self) -> int:
        return len(self._pending)

    async def get_batch(self, timeout_s: float | None = None) -> list[bytes]:
        """Wait for messages and take all that are pending (empty list on timeout)."""
        if not self._pending:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout_s)
            except TimeoutError:
                return []
        batch = list(self._pending.values())
        self._pending.clear()
        return batch
