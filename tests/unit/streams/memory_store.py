"""An in-memory BatchStore that refuses rows the way PostgreSQL does, for unit tests.

A batch is kept entirely or not at all, offsets with it, like PostgresBatchStore. It
refuses what the real columns refuse (NUL in text, a non-finite or out-of-range float
in a real column) and, for the isolation tests, any row whose event id is in `refuse`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from streams.batch import BatchResult

FLOAT4_MAX = 3.4028235e38


@dataclass
class MemoryStore:
    refuse: set[str] = field(default_factory=set)
    readings: list[str] = field(default_factory=list)  # event ids, in write order
    environment: list[str] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    dead_counts: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    probes: int = 0

    def stored_offsets(self, topic: str) -> dict[tuple[str, int], int]:
        return {tp: o for tp, o in self.offsets.items() if tp[0] == topic}

    def _check(self, batch: BatchResult) -> None:
        for r in batch.readings:
            texts = (r.area_code, r.zone_id, r.source, r.origin, r.event_id)
            if any("\x00" in t for t in texts):
                raise psycopg.errors.CharacterNotInRepertoire("invalid byte sequence 0x00")
            if not all(math.isfinite(x) for x in (r.people, r.confidence)) or not (
                abs(r.confidence) <= FLOAT4_MAX
            ):
                raise psycopg.errors.NumericValueOutOfRange("value out of range: real")
            if r.event_id in self.refuse:
                raise psycopg.errors.CheckViolation(f"row {r.event_id} violates a check")
        for e in batch.environment:
            if "\x00" in e.sensor_id + e.event_id:
                raise psycopg.errors.UntranslatableCharacter("unsupported \\u0000")
            if e.event_id in self.refuse:
                raise psycopg.errors.CheckViolation(f"row {e.event_id} violates a check")
        for p in batch.stats.values():
            if not p.walkable_m2 > 0:
                raise psycopg.errors.CheckViolation("crowd_stats_1m_walkable_m2_check")

    def write(self, batch: BatchResult) -> None:
        self._check(batch)
        self.writes += 1
        self.readings.extend(r.event_id for r in batch.readings)
        self.environment.extend(e.event_id for e in batch.environment)
        self.dead_counts.update(d.reason for d in batch.dead)
        for tp, o in batch.next_offsets.items():
            self.offsets[tp] = max(self.offsets.get(tp, 0), o)

    def probe(self, batch: BatchResult) -> Exception | None:
        self.probes += 1
        try:
            self._check(batch)
        except psycopg.Error as exc:
            return exc
        return None
