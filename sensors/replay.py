"""Replay recorded logs as one event-time ordered stream, paced like live (`--speed 60x`).

The merge and the pacing plan are pure; `replay()` is the thin loop that sleeps and
publishes to an `EventSink`, with the clock and sleep passed in so tests never wait.
Every event keeps its deterministic event_id, so a replay run twice is absorbed by the
idempotent writes downstream, and an id seen twice in one replay is published once.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from sensors.adapters.area_names import AreaNameIndex
from sensors.adapters.reject import Reject, split_rejects
from sensors.adapters.seoul_logs import iter_five_minute_log, iter_hourly_log
from sensors.events import CityEvent
from sensors.publisher import EventSink


def _order(event: CityEvent) -> tuple[datetime, str]:
    return (event.event_time, event.event_id)


def merge_by_event_time(
    *streams: Iterable[CityEvent], duplicates: list[str] | None = None
) -> Iterator[CityEvent]:
    """All events of all streams by (event_time, event_id); a repeated event_id is
    dropped (appended to `duplicates` when given). Each stream is sorted first: recorded
    logs are in collection order, which is not event-time order."""
    sorted_streams = [sorted(s, key=_order) for s in streams]
    seen: set[str] = set()
    for event in heapq.merge(*sorted_streams, key=_order):
        if event.event_id in seen:
            if duplicates is not None:
                duplicates.append(event.event_id)
            continue
        seen.add(event.event_id)
        yield event


def parse_speed(text: str) -> float:
    """'60x' / '60' -> 60.0; 'max' -> inf (no pacing)."""
    raw = text.strip().lower()
    if raw in ("max", "inf", "unpaced"):
        return math.inf
    value = float(raw.removesuffix("x"))
    if value <= 0:
        raise ValueError(f"speed must be > 0: {text!r}")
    return value


def pacing_plan(
    event_times: Sequence[datetime], speed: float, *, max_gap_s: float | None = None
) -> list[float]:
    """Seconds after the start at which to send each event: event-time gaps / speed.

    A wall gap longer than `max_gap_s` (a night without data) is cut to it. Times that
    go backwards send at once (never before the previous event).
    """
    if not event_times:
        return []
    if math.isinf(speed):
        return [0.0] * len(event_times)
    plan = [0.0]
    for prev, cur in pairwise(event_times):
        gap = max(0.0, (cur - prev).total_seconds() / speed)
        if max_gap_s is not None:
            gap = min(gap, max_gap_s)
        plan.append(plan[-1] + gap)
    return plan


def replay(
    events: Sequence[CityEvent],
    sink: EventSink,
    *,
    speed: float,
    max_gap_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    restamp: Callable[[], datetime] | None = None,
) -> int:
    """Publish `events` (already ordered) on the pacing plan; returns how many were sent.

    `restamp`, when given, sets each event's ingest_time to its wall time of sending.
    """
    plan = pacing_plan([e.event_time for e in events], speed, max_gap_s=max_gap_s)
    start = clock()
    for event, offset in zip(events, plan, strict=True):
        wait = start + offset - clock()
        if wait > 0:
            sleep(wait)
        sink.publish(event.model_copy(update={"ingest_time": restamp()}) if restamp else event)
    sink.flush()
    return len(plan)


def load_recorded_logs(
    *,
    hourly_csv: Path | None = None,
    five_min_json: Path | None = None,
    places_csv: Path | None = None,
    names: AreaNameIndex | None = None,
) -> tuple[list[CityEvent], list[Reject]]:
    """The recorded Seoul logs given, merged and de-duplicated, with their rejects."""
    index = names or AreaNameIndex()
    streams: list[list[CityEvent]] = []
    rejects: list[Reject] = []
    if hourly_csv is not None:
        text = hourly_csv.read_text(encoding="utf-8-sig")
        events, bad = split_rejects(iter_hourly_log(text, source_file=str(hourly_csv), names=index))
        streams.append(list(events))
        rejects += bad
    if five_min_json is not None:
        places = places_csv.read_text(encoding="utf-8-sig") if places_csv else None
        events5, bad = split_rejects(
            iter_five_minute_log(
                five_min_json.read_text(encoding="utf-8"),
                places,
                source_file=str(five_min_json),
                names=index,
            )
        )
        streams.append(list(events5))
        rejects += bad
    duplicates: list[str] = []
    merged = list(merge_by_event_time(*streams, duplicates=duplicates))
    rejects += [Reject("<replay>", 0, "event_id", f"duplicate {d}: sent once") for d in duplicates]
    return merged, rejects
