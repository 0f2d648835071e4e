"""The newest state per area and zone, ordered by hub sequence number. Pure.

A client is described by a cursor: the hub seq up to which it has been sent everything
its filter wants. "What to send next" is then the keys whose newest state is above the
cursor, so a lagging client costs nothing while it lags and gets one state per key
(the newest) when it catches up: conflation without a per-client queue.

The minimum-stage filter needs one fact about the past: did the client show a key at or
above its minimum at its cursor? If so, a state below the minimum is sent once (the
drop), so the client never keeps a stale stage. Because the client has been sent every
wanted state up to its cursor, that is the key's stage as of the cursor, which each key's
short stage history answers without any per-client record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from dashboard_api.live.filters import STAGE_RANK, LiveFilter

STAGE_HISTORY = 16  # stage changes kept per key; stages change rarely (hysteresis)


@dataclass(frozen=True)
class Entry:
    """One state as the hub holds it: parsed once, rendered once for every client."""

    key: str
    seq: int
    area_code: str
    district: str
    is_zone: bool
    stage_rank: int
    raw: bytes  # the state exactly as on the topic (/ws/areas)
    item: bytes  # {"kind":"state","seq":..,"state":..} (/ws/live)


def parse_entry(key: str, raw: bytes, seq: int, districts: Mapping[str, str]) -> Entry:
    try:
        state = json.loads(raw)
        area = str(state["area_code"])
        rank = STAGE_RANK.get(str(state.get("stage")), 0)
        is_zone = state.get("zone_id") is not None
    except (ValueError, KeyError, TypeError):
        area, rank, is_zone = key.split("/", 1)[0], 0, "/" in key
    item = b'{"kind":"state","seq":%d,"state":%s}' % (seq, raw)
    return Entry(key, seq, area, districts.get(area, ""), is_zone, rank, raw, item)


class LatestStates:
    def __init__(self) -> None:
        # Insertion order is seq order: an updated key is moved to the end.
        self._entries: dict[str, Entry] = {}
        self._stages: dict[str, list[tuple[int, int]]] = {}  # key: (seq, rank) changes
        self._born: dict[str, int] = {}  # key: seq of its first state

    def put(self, entry: Entry) -> None:
        self._entries.pop(entry.key, None)
        self._entries[entry.key] = entry
        self._born.setdefault(entry.key, entry.seq)
        stages = self._stages.setdefault(entry.key, [])
        if not stages or stages[-1][1] != entry.stage_rank:
            stages.append((entry.seq, entry.stage_rank))
            if len(stages) > STAGE_HISTORY:
                del stages[0]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def newer_than(self, seq: int) -> list[Entry]:
        """Entries with seq above `seq`, oldest first; costs the number returned."""
        newer = []
        for entry in reversed(self._entries.values()):
            if entry.seq <= seq:
                break
            newer.append(entry)
        newer.reverse()
        return newer

    def shown_at(self, key: str, seq: int, min_stage: int) -> bool:
        """Was the key at or above min_stage as of `seq` (so a client at that cursor
        shows it)? Unknown history counts as shown: an extra drop beats a stale stage."""
        for at, rank in reversed(self._stages.get(key, ())):
            if at <= seq:
                return rank >= min_stage
        # Only a key trimmed of its oldest changes can have existed with none found.
        return seq >= self._born.get(key, seq + 1)


def keep(
    states: LatestStates, newer: list[Entry], cursor: int, live_filter: LiveFilter | None
) -> list[Entry]:
    """Of the entries above a client's cursor, those its filter sends, in the same order."""
    if live_filter is None:
        return newer
    f = live_filter
    return [
        e
        for e in newer
        if f.place_matches(e.area_code, e.district, e.is_zone)
        and (e.stage_rank >= f.min_stage or states.shown_at(e.key, cursor, f.min_stage))
    ]


def wanted(states: LatestStates, cursor: int, live_filter: LiveFilter | None) -> list[Entry]:
    """What a client at `cursor` with this filter is sent next, oldest first."""
    return keep(states, states.newer_than(cursor), cursor, live_filter)
