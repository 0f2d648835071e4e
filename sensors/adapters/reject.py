"""What an adapter says about input it could not turn into an event.

Adapters never raise on one bad row: they yield a `Reject` and go on, so one broken line
of a day-long log costs that line only. A reject names the file, the line (or record
index) and the field, so an operator can find it with `sed -n`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from citypulse.domain.korea_time import KST

# Korea has kept UTC+9 without daylight saving since 1988: a fixed offset is exact and
# needs no tz database on the host.


@dataclass(frozen=True)
class Reject:
    """One input record (or one part of it) that was not published, and why."""

    source_file: str
    record: int  # 1-based line of a CSV, or index of the record in a JSON/XML document
    field: str  # the offending field; "" when the whole record is at fault
    reason: str

    def __str__(self) -> str:
        where = f"{self.source_file}:{self.record}"
        return f"{where} [{self.field}] {self.reason}" if self.field else f"{where} {self.reason}"


E = TypeVar("E")


def parse_kst(text: str) -> datetime:
    """A Seoul API local time ('2026-03-20 23:25', with or without seconds) as KST-aware."""
    raw = text.strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=KST)
        except ValueError:
            continue
    raise ValueError(f"not a KST time 'YYYY-MM-DD HH:MM[:SS]': {raw!r}")


def event_id(source: str, key: str, when: datetime) -> str:
    """Deterministic id: the same input always gives the same id, so replays are idempotent."""
    return f"{source}:{key}:{when.isoformat()}"


def split_rejects(items: Iterable[E | Reject]) -> tuple[list[E], list[Reject]]:
    """An adapter's output as (events, rejects), order kept within each."""
    events: list[E] = []
    rejects: list[Reject] = []
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            events.append(item)
    return events, rejects
