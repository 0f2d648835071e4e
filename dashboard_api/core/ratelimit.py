"""A token bucket per client, in process: the public endpoints' rate limit.

Bounded: at most `max_clients` buckets are kept; the least recently seen is dropped,
which only ever gives that client a fresh (full) bucket.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    rate_per_s: float
    burst: int
    max_clients: int = 10_000
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def allow(self, client: str, now: float) -> float:
        """0.0 when the request may pass, else the seconds to wait before retrying."""
        tokens, last = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate_per_s
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait
