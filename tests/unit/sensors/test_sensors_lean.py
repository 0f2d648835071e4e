"""The fast door (sensors/lean.py) never takes what the strict door refuses, and what it
takes it reads exactly as the strict door does."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensors.events import (
    EventDecodeError,
    PopulationEstimate,
    ZoneCount,
    decode_event,
    encode_event,
)
from sensors.lean import (
    _NUMPY_SCAN_BYTES,
    _SEVEN_DIGITS,
    LeanPopulationEstimate,
    LeanZoneCount,
    _scan_run,
    decode_lean,
    decode_lean_many,
)
from tests.hostile_events import HostileFeed, named

AREA_CODE = re.compile(r"POI\d{3}")
AT = "2026-11-30T05:00:00.000020+00:00"


def zone(**change: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "v": 1, "event_id": "e1", "source": "cctv", "event_time": AT, "ingest_time": AT,
        "kind": "zone_count", "area_code": "POI009", "zone_id": "Z1", "counter_id": "c1",
        "count": 200, "walkable_m2": 500.0, "confidence": 0.9,
    }  # fmt: skip
    return doc | change


def population(**change: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "v": 1, "event_id": "p1", "source": "seoul", "event_time": AT, "ingest_time": AT,
        "kind": "population_estimate", "area_code": "POI009", "people_min": 100,
        "people_max": 200, "congestion_level": "보통", "replaced": True,
    }  # fmt: skip
    return doc | change


def dumps(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


FIELDS = ("v", "event_id", "source", "event_time", "ingest_time", "kind", "area_code",
          "zone_id", "counter_id", "count", "walkable_m2", "confidence", "people_min",
          "people_max", "congestion_level", "replaced", "forecast", "other")  # fmt: skip
# JSON texts chosen where the two parsers could part: times, numbers, strings, types.
TRICKY = (
    '"2026-11-30T05:00:00.1234567+00:00"',
    '"2026-11-30T05:00:00.9999999Z"',
    '"2026-11-30T05:00:00.123456Z"',
    '"2026-11-30T05:00:00.1Z"',
    '"2026-11-30t05:00:00z"',
    '"2026-11-30 05:00:00Z"',
    '"2026-11-30T05:00Z"',
    '"2026-11-30T05:00:00"',
    '"2026-11-30T05:00:00+0900"',
    '"2026-11-30T05:00:00+09"',
    '"2026-11-30T05:00:00-00:00"',
    '"2026-11-30T05:00:00,5Z"',
    '"1999-12-31T23:59:59.999999Z"',
    '"2100-01-01T00:00:00Z"',
    '"2099-12-31T23:59:59+00:00"',
    '"2000-01-01T00:00:00+00:01"',
    '"2026-02-29T00:00:00Z"',
    "1764478800",
    "1764478800.5",
    "0",
    "-0",
    "1",
    "1.0",
    "1e2",
    "2",
    "true",
    "false",
    "null",
    "1e400",
    "-1",
    "0.0",
    "1.5",
    "0.9999999999999999999",
    "10000000",
    "10000001",
    "100000000.0",
    "100000000.00000001",
    "12345678901234567890123",
    "[]",
    "{}",
    '""',
    '"a"',
    '"POI009"',
    '"POI009\\n"',
    '"\\u0000"',
    '"a\\u0085b"',
    '"\u0085"',
    '"\x7f"',
    '"a\\"b"',
    '"é"',
    '"보통"',
    '"붐빔"',
    '"약간 붐빔"',
    '"x' + "y" * 70 + '"',
    '"' + "가" * 128 + '"',
    '"' + "가" * 129 + '"',
    '"' + "a" * 64 + '"',
    '"' + "a" * 65 + '"',
    '"zone_count"',
    '"population_estimate"',
    '"sensor_status"',
    "NaN",
    "Infinity",
    "1.7976931348623157e308",
)


@st.composite
def near_valid(draw: st.DrawFn) -> bytes:
    doc = draw(st.sampled_from([zone, population]))()
    for _ in range(draw(st.integers(0, 2))):
        action = draw(st.sampled_from(["set", "drop", "dup", "space", "escape", "cut"]))
        name = draw(st.sampled_from(FIELDS))
        raw = dumps(doc)
        if action == "set":
            doc[name] = "@@"
            return dumps(doc).replace(b'"@@"', draw(st.sampled_from(TRICKY)).encode())
        if action == "drop":
            doc.pop(name, None)
        elif action == "dup" and name in doc:
            value = draw(st.sampled_from([json.dumps(doc[name]), *TRICKY]))
            return raw[:-1] + f',"{name}":{value}}}'.encode()
        elif action == "space":
            return raw.replace(b",", b" ,\n\t").replace(b":", b" : ")
        elif action == "escape" and name in doc:
            return raw.replace(f'"{name}"'.encode(), f'"\\u{ord(name[0]):04x}{name[1:]}"'.encode())
        elif action == "cut":
            return raw[: draw(st.integers(0, len(raw)))]
    return dumps(doc)


def assert_same(raw: bytes) -> None:
    lean = decode_lean(raw)
    if lean is None or not AREA_CODE.fullmatch(lean.area_code):
        return  # the worker takes a fast event only for a registry code (streams/batch.py)
    try:
        strict = decode_event(raw)
    except EventDecodeError as exc:
        msg = f"fast door took what the strict door refuses ({exc}): {raw!r}"
        raise AssertionError(msg) from None
    assert type(lean).__name__ == "Lean" + type(strict).__name__
    for name in type(lean).__struct_fields__:
        assert getattr(lean, name) == getattr(strict, name), name
    for name in ("event_time", "ingest_time"):
        assert getattr(lean, name).isoformat() == getattr(strict, name).isoformat()
        assert getattr(lean, name).astimezone(UTC) == getattr(strict, name).astimezone(UTC)
    assert lean.partition_key() == strict.partition_key()
    if isinstance(lean, LeanPopulationEstimate):
        assert not strict.forecast  # type: ignore[union-attr]
        assert lean.people == strict.people  # type: ignore[union-attr]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid())
def test_the_fast_door_agrees_with_the_strict_door(raw: bytes) -> None:
    assert_same(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_never_taken_alone(raw: bytes) -> None:
    assert_same(raw)


def test_hostile_payloads_are_left_to_the_strict_door() -> None:
    now = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    for raw in named(now).values():
        assert_same(raw)
    feed = HostileFeed(18, now)
    for _ in range(3000):
        assert_same(next(feed))


def test_the_common_events_take_the_fast_door() -> None:
    assert isinstance(decode_lean(dumps(zone())), LeanZoneCount)
    assert isinstance(decode_lean(dumps(population())), LeanPopulationEstimate)
    # defaults as the strict door gives them
    bare = decode_lean(dumps({k: v for k, v in zone().items() if k not in ("v", "confidence")}))
    assert isinstance(bare, LeanZoneCount) and bare.confidence == 1.0 and bare.v == 1


@pytest.mark.parametrize(
    "raw",
    [
        dumps(zone(event_time="2026-11-30T05:00:00.0000009+00:00")),  # rounded vs cut
        dumps(zone())[:-1] + b',"count":5}',  # the last of two keys
        dumps(zone())[:-1] + b',"confidence":0.5}',  # an optional key twice
        dumps(zone(source="a\\u0007")).replace(b"\\\\", b"\\"),  # an escaped control
        dumps(zone(source="a\x7f")),
        dumps(zone(source="a\u0085")),
        dumps(zone(event_time="1999-12-31T23:59:59+00:00")),
        dumps(zone(ingest_time="2100-01-01T00:00:00+00:00")),
        dumps(population(people_min=300)),  # max below min
        dumps(population(forecast=[])),  # the fast door carries no forecast
        dumps(zone(kind="sensor_status")),
    ],
)
def test_what_the_fast_door_leaves_to_the_strict_one(raw: bytes) -> None:
    assert decode_lean(raw) is None


@st.composite
def valid(draw: st.DrawFn) -> bytes:
    """A record the fast door takes, with or without each optional key."""
    doc = draw(st.sampled_from([zone, population]))()
    for name in ("v", "confidence", "congestion_level", "replaced"):
        if name in doc and draw(st.booleans()):
            del doc[name]
    if "congestion_level" in doc and draw(st.booleans()):
        doc["congestion_level"] = None
    return dumps(doc)


RECORD = st.one_of(
    valid(),
    valid(),
    valid(),
    near_valid(),
    st.sampled_from([None, b"", b"{}", b" ", b"\0"]),
    st.binary(max_size=60),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, max_size=8))
def test_a_run_is_vouched_for_whole_exactly_when_each_record_is(raws: list[bytes | None]) -> None:
    """decode_lean_many is [decode_lean(raw) for raw in raws] when each is vouched for,
    else None: its summed checks neither take a record decode_lean leaves nor leave a
    run decode_lean takes whole."""
    each = [decode_lean(raw) for raw in raws]
    many = decode_lean_many(raws)
    if all(event is not None for event in each):
        assert many == each
    else:
        assert many is None


@pytest.mark.parametrize(
    "odd",
    [
        dumps(zone())[:-1] + b',"confidence":0.5}',  # an optional key twice
        dumps(population())[:-1] + b',"v":1}',
        dumps(zone())[:-1] + b',"count":5}',  # a required key twice
        dumps(zone(event_time="2026-11-30T05:00:00.0000009+00:00")),
        dumps(population(people_min=300)),
        dumps(zone(source="a\x7f")),  # DEL, raw: ASCII with no escape
        dumps(zone(source="a\\u0007")).replace(b"\\\\", b"\\"),  # an escaped control
        dumps(zone(source="a\u0085")),  # a C1 control, raw
        None,
        b"",
    ],
)
def test_one_record_the_fast_door_leaves_sends_the_whole_run_back(odd: bytes | None) -> None:
    # Beside records that give no optional key, whose quotes leave room for the odd
    # one's extra key if the sum were not checked key by key.
    # All ASCII but for the odd one, so the printable check is not made for another.
    bare = {k: v for k, v in zone().items() if k not in ("v", "confidence")}
    ascii_population = dumps(population(congestion_level=None))
    run = [dumps(bare), ascii_population, odd, dumps(bare)]
    assert decode_lean_many([r for r in run if r is not odd]) is not None
    assert decode_lean_many(run) is None


def test_a_run_of_other_buffers_is_left_whole_without_raising() -> None:
    raw = dumps(zone())
    assert decode_lean_many([raw, raw]) is not None
    assert decode_lean_many([bytearray(raw), raw]) is None  # type: ignore[list-item]
    assert decode_lean_many([memoryview(raw), raw]) is None  # type: ignore[list-item]


def test_years_are_bounded_as_the_strict_door_bounds_them() -> None:
    ok = dumps(zone(event_time="2099-12-31T23:59:59.999999+00:00"))
    assert decode_lean(ok) is not None
    assert decode_event(ok).event_time == datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_the_fast_structs_have_the_strict_models_fields() -> None:
    """A field added to or taken from a strict model must be added to or taken from its
    fast twin (forecasts always take the strict door; the tag is the struct's)."""
    for lean, strict in ((LeanZoneCount, ZoneCount), (LeanPopulationEstimate, PopulationEstimate)):
        fields = set(strict.model_fields) - {"kind", "forecast"}
        assert set(lean.__struct_fields__) == fields


def test_the_fast_structs_fields_are_in_the_order_encode_event_writes_the_keys() -> None:
    """msgspec finds keys in field order at the first try (sensors/lean.py): a field
    moved in a strict model must move in its fast twin too."""
    at = datetime(2026, 11, 30, 5, tzinfo=UTC)
    head = {"event_id": "e", "source": "s", "event_time": at, "ingest_time": at}
    zone_event = ZoneCount(
        **head, area_code="POI001", zone_id="Z", counter_id="c", count=1, walkable_m2=9.0
    )
    population_event = PopulationEstimate(**head, area_code="POI001", people_min=1, people_max=2)
    for lean, event in ((LeanZoneCount, zone_event), (LeanPopulationEstimate, population_event)):
        keys = [k for k, _ in json.loads(encode_event(event), object_pairs_hook=list)]
        assert keys[0] == "kind"  # the tag first: msgspec reads the object once
        assert [k for k in keys[1:] if k != "forecast"] == list(lean.__struct_fields__)


_SCAN_PIECES = st.sampled_from(
    [b".", b"0", b"9", b"/", b":", b'"', b"x", b"\0", b"\x7f", b".123456", b".1234567", b"\xff"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SCAN_PIECES, max_size=40), st.integers(0, 2), st.integers(0, 40))
def test_a_large_runs_scan_finds_what_the_regex_and_count_find(
    pieces: list[bytes], where: int, cut: int
) -> None:
    """Runs of 16 KB and more are scanned with numpy (`_scan_run`): the same answers as
    the regex and bytes.count, wherever the seven digits or quotes fall, at either end too."""
    pad = b"x" * _NUMPY_SCAN_BYTES
    tail = b"".join(pieces)
    joined = [pad + tail, tail + pad, pad[: len(pad) // 2] + tail + pad[len(pad) // 2 :]][where]
    joined = joined[cut:] if where == 1 else joined[: len(joined) - cut]
    assert _scan_run(joined) == (_SEVEN_DIGITS(joined) is not None, joined.count(b'"'))


def test_a_large_run_with_one_seventh_digit_deep_inside_is_left_whole() -> None:
    good = dumps(zone())
    count = _NUMPY_SCAN_BYTES // len(good) + 10
    run = [good] * count
    assert decode_lean_many(run) is not None
    run[count // 2] = dumps(zone(ingest_time="2026-11-30T05:00:00.0000009+00:00"))
    assert decode_lean_many(run) is None
