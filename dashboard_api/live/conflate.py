"""A per-client outbox for the rare messages that are not area states: pong, reset, alert
events. It keeps the latest message per key, so a client that lags is bounded by the
number of distinct keys (open alerts), not by how much happened.

Area states need no queue: a client's cursor into the hub's newest states does the same
job without any per-client work when a state arrives (see entries.py).
"""

from __future__ import annotations

from collections import OrderedDict


class ConflatingQueue:
    def __init__(self) -> None:
        self._pending: OrderedDict[str, bytes] = OrderedDict()
        self.conflated = 0  # messages replaced before the client read them

    def put(self, key: str, message: bytes) -> None:
        if key in self._pending:
            self.conflated += 1
            del self._pending[key]  # re-append: keep arrival order of the newest messages
        self._pending[key] = message

    def clear(self) -> None:
        self._pending.clear()

    def __len__(self) -> int:
        return len(self._pending)

    def take(self) -> list[bytes]:
        """All pending messages, oldest first; the queue is left empty."""
        batch = list(self._pending.values())
        self._pending.clear()
        return batch
