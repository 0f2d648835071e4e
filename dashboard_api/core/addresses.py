"""Who is calling: the peer's address, or the client a configured proxy names.

X-Forwarded-For is believed only when the peer is one of the configured proxies, and
then read from the right: each trusted proxy appended the address it saw, so the first
untrusted address from the right is the client. Anything a client wrote further left
is ignored, so rotating the header buys nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Proxy addresses or networks ("10.0.0.5", "10.0.0.0/24"); ValueError if malformed."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _trusted(host: str, proxies: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]
) -> str:
    peer = peer or "unknown"
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for[:2048].split(",")]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a garbled hop: count the request against the proxy itself
    return peer
