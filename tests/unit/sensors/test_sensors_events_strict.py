"""decode_event is strict: every hostile payload of issue 13 is refused with a reason, and
the duplicate-key check agrees with a full parse on arbitrary documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.events import EventDecodeError, ZoneCount, decode_event
from tests.hostile_events import KINDS, named, valid_event

AT = datetime(2026, 6, 13, 4, 0, tzinfo=UTC)
NAMED = named(AT)
REASON = {
    "half_message": "not_json",
    "invalid_utf8": "not_json",
    "lone_surrogate": "not_json",
    "arbitrary_bytes": "not_json",
    "deep_nesting": "not_json",
    "oversize_record": "oversized",
    "empty": "empty",
    "duplicate_key": "duplicate_key",
    "duplicate_key_escaped": "duplicate_key",
    "duplicate_key_spaced": "duplicate_key",
}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_every_named_attack_is_refused_with_its_reason(name: str) -> None:
    with pytest.raises(EventDecodeError) as caught:
        decode_event(NAMED[name])
    assert caught.value.reason == REASON.get(name, "schema")
    assert caught.value.detail.isascii()  # safe in a header and a log line


@pytest.mark.parametrize("kind", KINDS)
def test_the_valid_events_the_attacks_start_from_decode(kind: str) -> None:
    assert decode_event(json.dumps(valid_event(kind, "ok", AT)).encode()).kind == kind


def test_an_int_where_a_float_is_declared_is_still_a_number() -> None:
    doc = valid_event("zone_count", "ok", AT) | {"walkable_m2": 400}
    event = decode_event(json.dumps(doc).encode())
    assert isinstance(event, ZoneCount) and event.walkable_m2 == 400.0


def test_a_hostile_key_is_quoted_escaped_and_cut_in_the_detail() -> None:
    doc = valid_event("zone_count", "ok", AT) | {"\x1b[31m" + "k" * 5000: 1}
    with pytest.raises(EventDecodeError) as caught:
        decode_event(json.dumps(doc).encode())
    assert caught.value.reason == "schema"
    assert "\x1b" not in caught.value.detail and len(caught.value.detail) < 600


# Documents laid out the ways producers and attackers write them: compact, spaced,
# pretty-printed, with escaped non-ASCII, with keys spelled through escapes.
def _render(doc: dict[str, object], style: int) -> bytes:
    if style == 0:
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    if style == 1:
        return json.dumps(doc).encode()
    if style == 2:
        return json.dumps(doc, indent=2).encode()
    if style == 3:
        return json.dumps(doc, separators=(" , ", " : ")).encode()
    raw = json.dumps(doc, separators=(",", ":"))
    return raw.replace('"count"', '"\\u0063ount"').replace('"v"', '"\\u0076"').encode()


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    style=st.integers(0, 4),
    twice=st.none() | st.integers(0, 20),
    detail=texts,
    eid=texts,
)
def test_duplicate_keys_are_found_however_the_document_is_written(
    kind: str, style: int, twice: int | None, detail: str, eid: str
) -> None:
    doc = valid_event(kind, "id-" + eid, AT)
    if kind == "sensor_status":
        doc["detail"] = ":" + detail  # a value that begins with a colon counts as a key
    raw = _render(doc, style)
    if twice is not None:
        name = list(doc)[twice % len(doc)]
        raw = raw.rstrip()[:-1] + b',"' + name.encode() + b'":' + json.dumps(doc[name]).encode()
        raw += b"}"
    try:
        decode_event(raw)
        outcome = "ok"
    except EventDecodeError as exc:
        outcome = exc.reason
    assert outcome == ("ok" if twice is None else "duplicate_key")
