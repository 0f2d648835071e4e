"""Sign-in throttling: backoff after a few wrong passwords, a lock after many.

Pure policy (`SignInPolicy`) shared by the two counters: per account (kept in the
database, so every API process and a restart see it) and per address (in process,
bounded, for guesses spread over many or unknown usernames).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SignInPolicy:
    free_failures: int = 3  # wrong passwords in a row before any wait
    backoff_base_s: float = 1.0  # then 1, 2, 4, ... seconds between attempts
    backoff_cap_s: float = 60.0
    lock_after: int = 9  # this many in a row locks: the next attempt is refused, even right
    lock_s: float = 900.0  # for this long (or until an admin resets the password)

    def wait_after(self, failures: int) -> float:
        """Seconds no attempt is checked after the `failures`-th wrong password in a row."""
        if failures >= self.lock_after:
            return self.lock_s
        if failures <= self.free_failures or self.backoff_base_s <= 0:
            return 0.0
        doubling = failures - self.free_failures - 1
        return float(min(self.backoff_cap_s, self.backoff_base_s * 2 ** min(doubling, 32)))

    def locked(self, failures: int) -> bool:
        return failures >= self.lock_after


@dataclass
class AddressThrottle:
    """Wrong passwords in a row per client address; bounded like the rate limiter."""

    policy: SignInPolicy
    max_clients: int = 10_000
    _seen: OrderedDict[str, tuple[int, float]] = field(default_factory=OrderedDict)

    def retry_after(self, address: str, now: float) -> float:
        """0.0 when the address may try now, else the seconds it must wait."""
        failures, until = self._seen.get(address, (0, 0.0))
        return max(0.0, until - now) if failures else 0.0

    def failed(self, address: str, now: float) -> None:
        failures = self._seen.pop(address, (0, 0.0))[0] + 1
        self._seen[address] = (failures, now + self.policy.wait_after(failures))
        while len(self._seen) > self.max_clients:
            self._seen.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._seen.pop(address, None)
