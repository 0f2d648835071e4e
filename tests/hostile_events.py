"""Hostile input for the city-events topic: the kinds issue 13 found, and random ones.

`NAMED` holds one payload per known attack (each must end as a dead letter); `HostileFeed`
makes any number of records from a seed: valid events of every kind (so the store and
the fold have work), events with a field replaced by an arbitrary JSON value, cut,
doubled keys, re-typed values, and arbitrary bytes. Used by the unit property tests and
by the long fuzz run against the real database (tests/integration/streams).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from sensors.events import MAX_EVENT_BYTES
from streams.batch import BatchResult, DeadLetter, RawRecord

AREA = "POI009"  # in the registry


def valid_event(kind: str, eid: str, at: datetime, area: str = AREA) -> dict[str, object]:
    base: dict[str, object] = {
        "v": 1,
        "event_id": eid,
        "source": "fuzz",
        "event_time": at.isoformat(),
        "ingest_time": at.isoformat(),
        "kind": kind,
    }
    if kind == "population_estimate":
        base |= {"area_code": area, "people_min": 1000, "people_max": 1200,
                 "congestion_level": "보통", "replaced": False,
                 "forecast": [{"time": (at + timedelta(hours=1)).isoformat(),
                               "people_min": 900, "people_max": 1000}]}  # fmt: skip
    elif kind == "zone_count":
        base |= {"area_code": area, "zone_id": "z1", "counter_id": "c1", "count": 120,
                 "walkable_m2": 400.0, "confidence": 0.9}  # fmt: skip
    elif kind == "environment_reading":
        base |= {"sensor_id": "s1", "area_code": area, "pm10_ugm3": 12.0,
                 "temperature_c": 19.5, "visitor_count": 40}  # fmt: skip
    else:
        base |= {"sensor_id": "s1", "area_code": area, "status": "fault", "detail": "lens"}
    return base


KINDS = ("population_estimate", "zone_count", "environment_reading", "sensor_status")


def _dumps(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False, allow_nan=True).encode()


def _with(at: datetime, kind: str, eid: str, raw_field: str, raw_value: str) -> bytes:
    """A valid event whose `raw_field` is replaced by the literal JSON text `raw_value`."""
    doc = valid_event(kind, eid, at)
    doc[raw_field] = "@@"
    return _dumps(doc).replace(b'"@@"', raw_value.encode())


def named(at: datetime) -> dict[str, bytes]:
    """One payload per attack of issue 13 (and a few more); every one is a dead letter."""
    z, p = "zone_count", "population_estimate"
    valid = _dumps(valid_event(z, "n-valid", at))
    oversize = valid_event(z, "n-oversize", at)
    oversize["zone_id"] = "x" * (1024 * 1024 - 600)  # under the broker's 1 MiB, over 64 KiB
    year_1_point = '{"time":"0001-01-01T00:00:00+09:00","people_min":1,"people_max":2}'
    naive = at.replace(tzinfo=None).isoformat()
    return {
        "nan_bare": _with(at, z, "n-nan", "confidence", "NaN"),
        "nan_quoted": _with(at, z, "n-nanq", "confidence", '"NaN"'),
        "infinity_bare": _with(at, z, "n-inf", "walkable_m2", "Infinity"),
        "infinity_quoted": _with(at, z, "n-infq", "walkable_m2", '"Infinity"'),
        "infinite_walkable_m2": _with(at, z, "n-inf2", "walkable_m2", "1e999"),
        "minus_infinity": _with(at, z, "n-minf", "confidence", "-Infinity"),
        "nul_in_id": _with(at, z, "n-nul", "event_id", '"n-nul\\u0000x"'),
        "nul_in_zone": _with(at, z, "n-nulz", "zone_id", '"z\\u0000"'),
        "control_in_source": _with(at, z, "n-ctl", "source", '"fu\\u001bzz"'),
        "int_400_digits": _with(at, z, "n-big", "count", "9" * 400),
        "int_beyond_64_bits": _with(at, p, "n-big64", "people_max", str(2**70)),
        "population_1e30": _with(at, p, "n-1e30", "people_max", "1e30"),
        "year_1_with_offset": _with(at, z, "n-y1", "event_time", '"0001-01-01T00:00:00+09:00"'),
        "year_9999_with_offset": _with(
            at, z, "n-y9999", "event_time", '"9999-12-31T23:59:59-09:00"'
        ),
        "forecast_year_1": _with(at, p, "n-fy1", "forecast", f"[{year_1_point}]"),
        "numeric_time": _with(at, z, "n-numt", "event_time", "1780000000"),
        "count_as_string": _with(at, z, "n-str", "count", '"13"'),
        "count_as_true": _with(at, z, "n-true", "count", "true"),
        "version_true": _with(at, z, "n-vtrue", "v", "true"),
        "count_as_float": _with(at, z, "n-float", "count", "13.0"),
        "duplicate_key": valid[:-1] + b',"count":99999}',
        "duplicate_key_escaped": valid[:-1] + b',"\\u0063ount":5}',
        "duplicate_key_spaced": valid[:-1] + b', "count" : 5}',
        "half_message": valid[: len(valid) // 2],
        "invalid_utf8": valid.replace(b'"z1"', b'"z\xff\xfe"'),
        "lone_surrogate": _with(at, z, "n-sur", "zone_id", '"\\ud800"'),
        "arbitrary_bytes": bytes(range(256)),
        "oversize_record": _dumps(oversize),
        "empty": b"",
        "json_array": b"[1,2,3]",
        "deep_nesting": b"[" * 30_000 + b"]" * 30_000,
        "naive_time": _with(at, z, "n-naive", "event_time", f'"{naive}"'),
    }


def json_value(rng: random.Random, depth: int = 0) -> object:
    """An arbitrary JSON value (NaN and infinities included), biased to the nasty ones."""
    pick = rng.randrange(12 if depth < 3 else 9)
    if pick == 0:
        return None
    if pick == 1:
        return rng.random() < 0.5
    if pick == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**400, 13])
    if pick == 3:
        return rng.choice([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324, 0.5, 1e30])
    if pick == 4:
        return rng.uniform(-1e6, 1e6)
    if pick == 5:
        return "".join(chr(rng.choice([0, 7, 0x1B, 0x7F, 0x85, 0x2028, 0xFFFF, 0x10FFFF]))
                       for _ in range(rng.randrange(1, 4)))  # fmt: skip
    if pick == 6:
        return rng.choice(["", "13", "NaN", "Infinity", "true", "POI009", "2026-01-01",
                           "0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59-09:00",
                           "2026-11-30T05:00:00", "x" * rng.randrange(60, 600)])  # fmt: skip
    if pick == 7:
        return rng.randrange(-(10**6), 10**6)
    if pick == 8:
        return "fuzz-" + str(rng.randrange(10**6))
    if pick == 9:
        return [json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["a", "count", "v", "time", ""]): json_value(rng, depth + 1)
            for _ in range(rng.randrange(4))}  # fmt: skip


class HostileFeed:
    """Records from a seed: about 45% valid, the rest hostile. Valid events take times in
    the 15 minutes before `now`, in no order (some too late for their window)."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.named = list(named(now - timedelta(seconds=30)).values())
        self.n = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        rng, self.n = self.rng, self.n + 1
        at = self.now - timedelta(seconds=rng.randrange(1, 900))  # a few too late
        kind = rng.choice(KINDS)
        eid = f"f{self.n}"
        doc = valid_event(kind, eid, at)
        roll = rng.random()
        if roll < 0.45:
            return _dumps(doc)
        if roll < 0.70:  # a field (or a new one) takes an arbitrary JSON value
            for _ in range(rng.randrange(1, 3)):
                name = rng.choice([*doc, "extra"])
                doc[name] = json_value(rng)
            return _dumps(doc)
        if roll < 0.78:  # a field removed
            doc.pop(rng.choice(list(doc)))
            return _dumps(doc)
        raw = _dumps(doc)
        if roll < 0.84:  # cut anywhere
            return raw[: rng.randrange(len(raw))]
        if roll < 0.88:  # a key given twice
            name = rng.choice(list(doc))
            return raw[:-1] + b"," + json.dumps(name).encode() + b":" + _dumps(doc[name]) + b"}"
        if roll < 0.92:  # bytes flipped
            buf = bytearray(raw)
            for _ in range(rng.randrange(1, 4)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            return bytes(buf)
        if roll < 0.96:
            return rng.randbytes(rng.randrange(0, 300))
        if roll < 0.97:
            return rng.randbytes(MAX_EVENT_BYTES + rng.randrange(1, 1000))
        return rng.choice(self.named)


def assert_every_record_accounted(records: list[RawRecord], result: BatchResult) -> None:
    """Each record is exactly one of: accepted (stored, folded) or dead-lettered with a
    reason; a reading too late for its window is both (stored raw, `too_late`). The
    offsets cover every record."""
    accepted = {id(r) for r in result.event_records + result.reading_records}
    dead: dict[int, DeadLetter] = {}
    for d in result.dead:
        assert id(d.record) not in dead, f"two dead letters for offset {d.record.offset}"
        assert d.reason and d.detail, d
        dead[id(d.record)] = d
    for rec in records:
        late = id(rec) in dead and dead[id(rec)].reason == "too_late"
        assert (id(rec) in accepted) != (id(rec) in dead) or late, (rec.offset, rec.value)
    ends: dict[tuple[str, int], int] = {}
    for rec in records:
        ends[(rec.topic, rec.partition)] = max(
            ends.get((rec.topic, rec.partition), 0), rec.offset + 1
        )
    assert result.next_offsets == ends
