"""Readings no crowd can produce: shown to operators, never counted, never alerted on.

Three judgements, each on one reading in persons/m² of the walkable area it stands for:
- beyond packing: above ~10/m² people do not fit (a wrong area or a double count);
- a jump: further from the source's last plausible reading than a crowd can move in the
  time between them (an allowance for counting noise plus a rate per minute), so a level
  that persists becomes believable once enough time has passed to reach it;
- off its peers: at least two other fresh readings of the same zone agree and this one
  is several times off their median by more than a density margin (with one peer there
  is no telling which of the two is wrong).

Pure: `now` is passed in. Returns a reason, or None for a plausible reading.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime

from streams.crowd.density import IMPLAUSIBLE_DENSITY_PER_M2
from streams.crowd.fusion import SourceReading
from streams.crowd.staleness import age_s, is_source_stale

# Crowds at exits and in small squares can thicken by a few persons/m² a minute at most
# (pedestrian flow ~1.3 persons per metre of opening per second); the festival ramp is
# 0.1/m² a minute and the alley crush under 0.5.
MAX_CHANGE_PER_M2_PER_MIN = 2.0
CHANGE_ALLOWANCE_PER_M2 = 1.0  # counting noise of a small zone between two readings
PEER_FACTOR = 4.0
PEER_MARGIN_PER_M2 = 1.0  # small counts may differ several-fold without mattering
MIN_PEERS = 2


def _name(r: SourceReading) -> str:
    return f"{r.source}:{r.source_id}"


def beyond_packing(
    r: SourceReading, walkable_m2: float, limit: float = IMPLAUSIBLE_DENSITY_PER_M2
) -> str | None:
    density = r.people / walkable_m2
    if density <= limit:  # NaN fails this too: never judged plausible
        return None
    return f"beyond packing: {_name(r)} {r.people:.6g} people = {density:.3g}/m² > {limit:g}/m²"


def jump(
    previous: SourceReading | None,
    r: SourceReading,
    walkable_m2: float,
    rate_per_min: float = MAX_CHANGE_PER_M2_PER_MIN,
    allowance: float = CHANGE_ALLOWANCE_PER_M2,
) -> str | None:
    """Judged against the source's last plausible reading (None: nothing to judge by)."""
    if previous is None:
        return None
    minutes = max(0.0, (r.event_time - previous.event_time).total_seconds()) / 60.0
    change = abs(r.people - previous.people) / walkable_m2
    limit = allowance + rate_per_min * minutes
    if change <= limit:
        return None
    return (
        f"jump: {_name(r)} {previous.people:.6g} -> {r.people:.6g} people "
        f"({change:.3g}/m²) in {minutes * 60:.0f} s, more than {limit:.3g}/m²"
    )


def off_peers(
    r: SourceReading,
    others: Sequence[SourceReading],
    walkable_m2: float,
    now: datetime,
    factor: float = PEER_FACTOR,
    margin: float = PEER_MARGIN_PER_M2,
    min_peers: int = MIN_PEERS,
) -> str | None:
    """`others`: the zone's other readings; only fresh ones are peers."""
    peers = [p.people for p in others if not is_source_stale(p.source, age_s(p.event_time, now))]
    if len(peers) < min_peers:
        return None
    median = statistics.median(peers)
    gap = abs(r.people - median) / walkable_m2
    low, high = sorted((r.people, median))
    if gap <= margin or high <= factor * low:
        return None
    return (
        f"off peers: {_name(r)} {r.people:.6g} people vs median {median:.6g} of "
        f"{len(peers)} others ({gap:.3g}/m² apart)"
    )
