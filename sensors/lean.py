"""The worker's fast door for the two events that make up nearly all traffic.

`decode_lean` parses one wire event with msgspec into a plain struct, for
`population_estimate` without a forecast and `zone_count`, and only when it can vouch
that `sensors.events.decode_event` would accept the same bytes and give the same values.
Otherwise it returns None and the caller takes the strict door (`decode_event`), which
also words every reason: no record is refused here.

What pydantic checks and msgspec does not, checked here:
- printable strings: `str.isprintable()` is false for every C0 and C1 control and DEL
  (and for some characters the strict door takes, which then go there);
- duplicate keys: every key and every string value adds at least two quotes (more with
  escaped ones), and every string field of the decoded event had at least one string
  value, so the quotes are at least twice the keys plus the string fields. `"name":`
  cannot occur inside a string (its closing quote would end the string), so each
  optional key found that way was given. When the quotes are exactly twice the required
  keys, the optional keys found and the string fields, no key was given twice (one scan
  of the record instead of taking out whitespace and counting `":`);
- times: msgspec rounds a seventh fractional digit of a second where pydantic cuts it, so
  a dot followed by seven digits anywhere sends the record to the strict door; both years
  inside 2000-2100; the area code's pattern is left to the caller, which looks the code
  up in the registry (every registry code matches it);
- people_max >= people_min (the model validator).
Everything else (JSON types, strict numbers, bounds, lengths, unknown keys, the kind)
msgspec checks as pydantic does (tests/unit/sensors/test_sensors_lean.py compares the
two doors on generated and hostile input).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import compress, repeat
from operator import attrgetter, is_, le
from typing import Annotated, NamedTuple

import msgspec
import numpy as np
from msgspec import Meta, Struct

from citypulse.domain.comfort import ComfortLabel
from sensors.events import MAX_EVENT_BYTES, MAX_PEOPLE

_Time = Annotated[datetime, Meta(tz=True)]
_EventId = Annotated[str, Meta(min_length=1, max_length=128)]
_Name = Annotated[str, Meta(min_length=1, max_length=64)]
_People = Annotated[int, Meta(ge=0, le=MAX_PEOPLE)]
_Version = Annotated[int, Meta(ge=1, le=1)]


# gc=False: they hold strings, numbers and times only, so the collector need not track them.
# The fields in the order encode_event writes the keys (sensors/events.py), keyword-only so
# that order may put a default first: msgspec looks for each key from the field after the
# last one found, so keys in field order are found at the first try.
class LeanPopulationEstimate(
    Struct,
    tag_field="kind",
    tag="population_estimate",
    forbid_unknown_fields=True,
    gc=False,
    kw_only=True,
):
    """sensors.events.PopulationEstimate without a forecast, as msgspec decodes it."""

    v: _Version = 1
    event_id: _EventId
    source: _Name
    event_time: _Time
    ingest_time: _Time
    area_code: str
    people_min: _People
    people_max: _People
    congestion_level: ComfortLabel | None = None
    replaced: bool = False

    @property
    def people(self) -> float:
        return (self.people_min + self.people_max) / 2.0

    def partition_key(self) -> str:
        return self.area_code


class LeanZoneCount(
    Struct, tag_field="kind", tag="zone_count", forbid_unknown_fields=True, gc=False, kw_only=True
):
    """sensors.events.ZoneCount as msgspec decodes it."""

    v: _Version = 1
    event_id: _EventId
    source: _Name
    event_time: _Time
    ingest_time: _Time
    area_code: str
    zone_id: _Name
    counter_id: _Name
    count: _People
    walkable_m2: Annotated[float, Meta(ge=1.0, le=100_000_000.0)]
    confidence: Annotated[float, Meta(ge=0.0, le=1.0)] = 1.0

    def partition_key(self) -> str:
        return self.area_code


LeanEvent = LeanPopulationEstimate | LeanZoneCount

_decode: Callable[[bytes], LeanEvent] = msgspec.json.Decoder(LeanEvent).decode
# ValueError: msgspec raises UnicodeDecodeError for bytes that are not UTF-8.
_LEAN_ERRORS = (msgspec.MsgspecError, ValueError, RecursionError)
_SEVEN_DIGITS = re.compile(rb"\.[0-9]{7}").search
# The quotes of an event that gives only its required keys (the tag included): two for
# each key and each string value. The optional keys, the most often given first.
_POPULATION_QUOTES = 2 * (8 + 6)
_POPULATION_OPTIONAL: tuple[bytes, ...] = (b'"v":', b'"congestion_level":', b'"replaced":')
_ZONE_QUOTES = 2 * (10 + 8)
_ZONE_OPTIONAL: tuple[bytes, ...] = (b'"v":', b'"confidence":')
# From this many bytes a run's two scans go through numpy (`_scan_run`), below it through
# the regex and bytes.count: numpy's fixed cost per call is that of about 16 KB.
_NUMPY_SCAN_BYTES = 16_384
_FIRST = datetime(2000, 1, 1, tzinfo=UTC)
_END = datetime(2100, 1, 1, tzinfo=UTC)


def decode_lean(raw: bytes | None) -> LeanEvent | None:
    """The event in `raw` when the fast door can vouch for it, else None (the caller
    asks `decode_event`, which accepts or refuses it with its reason)."""
    # Each whole-record scan costs about a thousand instructions: two of them here.
    if not raw or len(raw) > MAX_EVENT_BYTES or _SEVEN_DIGITS(raw) is not None:
        return None
    try:
        event = _decode(raw)
    except _LEAN_ERRORS:
        return None
    if not (_FIRST <= event.event_time < _END and _FIRST <= event.ingest_time < _END):
        return None
    if type(event) is LeanZoneCount:
        if not (
            event.event_id.isprintable()
            and event.source.isprintable()
            and event.zone_id.isprintable()
            and event.counter_id.isprintable()
        ):
            return None
        base, optional = _ZONE_QUOTES, _ZONE_OPTIONAL
    elif type(event) is LeanPopulationEstimate:
        if not (
            event.people_max >= event.people_min
            and event.event_id.isprintable()
            and event.source.isprintable()
        ):
            return None
        base, optional = _POPULATION_QUOTES, _POPULATION_OPTIONAL
        if event.congestion_level is not None:
            base += 2
    else:  # no other kind decodes here
        return None
    # The optional keys given, if no key is given twice: every string (key or value)
    # adds at least two quotes; see the module's docstring.
    extra, odd = divmod(raw.count(b'"') - base, 2)
    if extra:
        if odd or extra < 0:
            return None
        for name in optional:
            if raw.find(name) >= 0:  # not `in`: see decode_lean_many
                extra -= 1
                if not extra:
                    break
        else:
            return None
    elif odd:
        return None
    return event


class LeanRun(NamedTuple):
    """A run of records the fast door vouches for: the events, each one's event time, and
    the zone counts among them (the caller's checks need both; built once, here)."""

    events: list[LeanEvent]
    event_times: list[datetime]
    zones: list[LeanZoneCount]


def decode_lean_many(raws: Sequence[bytes | None]) -> list[LeanEvent] | None:
    """`[decode_lean(raw) for raw in raws]` when the fast door vouches for every one of
    them, else None: `decode_lean_run`'s events."""
    run = decode_lean_run(raws)
    return None if run is None else run.events


def decode_lean_run(raws: Sequence[bytes | None]) -> LeanRun | None:
    """The events of `[decode_lean(raw) for raw in raws]` when the fast door vouches for
    every one of them, else None (the caller then takes each record as `decode_lean` and
    the strict door would): the same checks, each made once over the whole run of
    records in C (`map`, `min`, one scan of all the bytes) instead of once per record in
    Python. Each pass over the run costs a few hundred instructions a record
    (bench/batch_cpu.py --instructions), so there are as few as the checks allow.

    Every check is exact, not a heuristic. The records are scanned joined by a NUL byte,
    which is neither a dot nor a digit, so no match spans two records: a dot and seven
    digits are found iff one record holds them. The quote proof of `decode_lean`
    summed over the records holds iff it holds for each, because each record's quotes are
    at least its bound (see the module's docstring): a sum can only be equal when every
    term is. An empty record is not looked for: msgspec refuses it as it refuses any
    bytes that are not one JSON value.
    """
    if not raws:
        return LeanRun([], [], [])
    try:
        if max(map(len, raws)) > MAX_EVENT_BYTES:  # type: ignore[arg-type]  # None: TypeError
            return None
        joined = b"\0".join(raws)  # type: ignore[arg-type]
    except TypeError:
        return None
    seven_digits, quotes = _scan_run(joined)
    if seven_digits:
        return None
    try:
        events = list(map(_decode, raws))  # type: ignore[arg-type]
    except _LEAN_ERRORS:
        return None
    times = list(map(_event_times, events))
    ingested = list(map(_ingest_times, events))
    if not (
        min(times) >= _FIRST
        and max(times) < _END
        and min(ingested) >= _FIRST
        and max(ingested) < _END
    ):
        return None
    kinds = list(map(type, events))
    zone_count = kinds.count(LeanZoneCount)
    population_count = kinds.count(LeanPopulationEstimate)
    if zone_count + population_count != len(events):
        return None  # no other kind decodes here
    zones: list[LeanZoneCount]
    populations: list[LeanPopulationEstimate]
    if not population_count:
        zones, populations = events, []  # type: ignore[assignment]
    elif not zone_count:
        zones, populations = [], events  # type: ignore[assignment]
    else:
        zones = list(compress(events, map(is_, kinds, repeat(LeanZoneCount))))  # type: ignore[arg-type]
        populations = list(compress(events, map(is_, kinds, repeat(LeanPopulationEstimate))))  # type: ignore[arg-type]
    # Printable strings. ASCII records with no escape and no DEL decode to strings of
    # 0x20-0x7E only (JSON, and msgspec, refuse a raw control character in a string):
    # all printable, no need to look. Otherwise str.isprintable() of the concatenation,
    # which is that of every part.
    if not joined.isascii() or joined.find(b"\\") >= 0 or joined.find(b"\x7f") >= 0:
        strings = list(map(_event_id, events))
        strings += map(_source, events)
        strings += map(_zone_id, zones)
        strings += map(_counter_id, zones)
        if not "".join(strings).isprintable():
            return None
    if not all(map(le, map(_people_min, populations), map(_people_max, populations))):
        return None
    # The quote proof, summed: each record's required keys and string values, then each
    # optional key given (a record that decoded holds only its own kind's).
    labels = list(map(_congestion, populations))
    extra, odd = divmod(
        quotes
        - _ZONE_QUOTES * zone_count
        - _POPULATION_QUOTES * population_count
        - 2 * (len(labels) - labels.count(None)),
        2,
    )
    if odd or extra < 0:
        return None
    # Each record that holds `"name":` gave that optional key (see decode_lean), so the
    # records holding each name add up to at most `extra`, and to `extra` exactly when no
    # key was given twice. Once they reach it, no record can hold a name not looked for
    # yet (each record's share of `extra` is at least the names it holds).
    for name in _ANY_OPTIONAL:
        if not extra:
            break
        # bytes.find, not `in`: bytes.__contains__ first tries its argument as an int
        # and raises and clears a TypeError inside (about 2,000 instructions a call).
        try:
            where = list(map(bytes.find, raws, repeat(name)))  # type: ignore[arg-type]
        except TypeError:  # not bytes (a bytearray): left to the record-by-record path
            return None
        extra -= len(where) - where.count(-1)
    return None if extra else LeanRun(events, times, zones)


def _scan_run(joined: bytes) -> tuple[bool, int]:
    """Whether `joined` holds a dot followed by seven digits, and how many quotes it holds:
    `_SEVEN_DIGITS(joined) is not None, joined.count(b'"')`, in one pass of numpy's
    vector loops over a large run (about a tenth of the instructions of the regex and
    the count, which step byte by byte; bench/batch_cpu.py --instructions)."""
    if len(joined) < _NUMPY_SCAN_BYTES:
        return _SEVEN_DIGITS(joined) is not None, joined.count(b'"')
    a = np.frombuffer(joined, dtype=np.uint8)
    quotes = int(np.count_nonzero(a == 34))
    digit = (a - 48) < 10  # uint8 wraps below "0": one compare for "0" to "9"
    two = digit[:-1] & digit[1:]  # a digit at i and at i + 1
    four = two[:-2] & two[2:]  # digits at i to i + 3
    seven = four[:-3] & four[3:]  # digits at i to i + 6
    return bool(np.any((a[:-7] == 46) & seven[1:])), quotes


_event_times = attrgetter("event_time")
_ingest_times = attrgetter("ingest_time")
_event_id = attrgetter("event_id")
_source = attrgetter("source")
_zone_id = attrgetter("zone_id")
_counter_id = attrgetter("counter_id")
_people_min = attrgetter("people_min")
_people_max = attrgetter("people_max")
_congestion = attrgetter("congestion_level")
# Either kind's optional keys, the most often given first.
_ANY_OPTIONAL: tuple[bytes, ...] = (
    b'"v":',
    b'"confidence":',
    b'"congestion_level":',
    b'"replaced":',
)
