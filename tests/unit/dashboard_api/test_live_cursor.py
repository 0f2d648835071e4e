"""What a client at a cursor is sent next (entries.py) and the deltas shared per tick
(frames.py): conflation, filters, the min-stage drop, frame text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashboard_api.live.entries import (
    STAGE_HISTORY,
    LatestStates,
    parse_entry,
    wanted,
)
from dashboard_api.live.filters import LiveFilter
from dashboard_api.live.frames import Delta, TickFrames, envelope, heartbeat_frame, live_frame

DISTRICTS = {"POI001": "중구", "POI009": "종로구", "POI014": "종로구"}
ALERT, CAUTION = 3, 2


def _raw(key: str, stage: str) -> bytes:
    area, _, zone = key.partition("/")
    return json.dumps({"area_code": area, "zone_id": zone or None, "stage": stage}).encode()


def _states(*published: tuple[str, str]) -> LatestStates:
    """States as the hub holds them after publishing (key, stage) in order, seq from 1."""
    states = LatestStates()
    for seq, (key, stage) in enumerate(published, start=1):
        states.put(parse_entry(key, _raw(key, stage), seq, DISTRICTS))
    return states


def _sent(states: LatestStates, cursor: int, f: LiveFilter | None) -> list[tuple[str, int]]:
    return [(e.key, e.seq) for e in wanted(states, cursor, f)]


MIN_ALERT = LiveFilter(min_stage=ALERT)


@pytest.mark.parametrize(
    ("published", "cursor", "live_filter", "expected"),
    [
        ((), 0, None, []),
        ((("POI001", "normal"),), 1, None, []),  # up to date
        ((("POI001", "normal"),), 5, None, []),  # a cursor past the end
        # One state per key, the newest, oldest first: conflation.
        (
            (("POI001", "normal"), ("POI009", "normal"), ("POI001", "caution")),
            0,
            None,
            [("POI009", 2), ("POI001", 3)],
        ),
        (
            (("POI001", "normal"), ("POI009", "normal"), ("POI001", "caution")),
            2,
            None,
            [("POI001", 3)],
        ),
        # Place filters.
        (
            (("POI001", "normal"), ("POI009", "normal")),
            0,
            LiveFilter(districts=frozenset({"중구"})),
            [("POI001", 1)],
        ),
        (
            (("POI001", "normal"), ("POI009", "normal")),
            0,
            LiveFilter(areas=frozenset({"POI009"})),
            [("POI009", 2)],
        ),
        (
            (("POI001", "normal"), ("POI001/A1", "normal")),
            0,
            LiveFilter(zones=False),
            [("POI001", 1)],
        ),
        (
            (("POI001/A1", "normal"),),
            0,
            LiveFilter(areas=frozenset({"POI001"})),
            [("POI001/A1", 1)],
        ),
        # Minimum stage: below it never shown, so never sent.
        ((("POI001", "normal"), ("POI009", "alert")), 0, MIN_ALERT, [("POI009", 2)]),
        # Shown at the cursor, then below the minimum: the drop is sent once.
        ((("POI009", "alert"), ("POI009", "normal")), 1, MIN_ALERT, [("POI009", 2)]),
        # ... and not again: at cursor 2 the client already has the drop.
        ((("POI009", "alert"), ("POI009", "normal"), ("POI009", "normal")), 2, MIN_ALERT, []),
        # Up and down again after the cursor: never shown, so nothing to take back.
        ((("POI009", "normal"), ("POI009", "alert"), ("POI009", "normal")), 1, MIN_ALERT, []),
        # Shown, then down and up again: the newest (alert) is sent.
        (
            (("POI009", "alert"), ("POI009", "normal"), ("POI009", "serious")),
            1,
            MIN_ALERT,
            [("POI009", 3)],
        ),
        # A fresh view (cursor 0: snapshot or reset) has nothing to take back.
        ((("POI009", "alert"), ("POI009", "normal")), 0, MIN_ALERT, []),
        # The drop respects the place filter too.
        (
            (("POI009", "alert"), ("POI009", "normal")),
            1,
            LiveFilter(areas=frozenset({"POI001"}), min_stage=ALERT),
            [],
        ),
        # A lower minimum: caution was shown, a drop to attention is sent.
        (
            (("POI014", "caution"), ("POI014", "attention")),
            1,
            LiveFilter(min_stage=CAUTION),
            [("POI014", 2)],
        ),
    ],
)
def test_wanted_from_a_cursor(
    published: tuple[tuple[str, str], ...],
    cursor: int,
    live_filter: LiveFilter | None,
    expected: list[tuple[str, int]],
) -> None:
    assert _sent(_states(*published), cursor, live_filter) == expected


def test_a_key_older_than_its_stage_history_gets_the_drop_rather_than_a_stale_stage() -> None:
    flips = [("POI009", "alert" if i % 2 == 0 else "caution") for i in range(STAGE_HISTORY + 4)]
    states = _states(("POI001", "normal"), *flips, ("POI009", "normal"))
    # Cursor 2: POI009 was at alert then, but that change has been trimmed away.
    assert [e.key for e in wanted(states, 2, MIN_ALERT)] == ["POI009"]
    # Before the key existed (cursor 1) there is nothing to take back, trimmed or not.
    assert wanted(states, 1, MIN_ALERT) == []


def test_newer_than_walks_only_the_changes() -> None:
    states = _states(*[(f"POI{i:03d}", "normal") for i in range(1, 101)])
    assert [e.seq for e in states.newer_than(97)] == [98, 99, 100]
    assert len(states) == 100 and states.get("POI050") is not None


def test_parse_entry_renders_items_and_survives_bad_json() -> None:
    entry = parse_entry("POI009/A1", b"not json", 7, DISTRICTS)
    assert (entry.area_code, entry.district, entry.is_zone, entry.stage_rank) == (
        "POI009",
        "종로구",
        True,
        0,
    )
    good = parse_entry("POI001", _raw("POI001", "alert"), 8, DISTRICTS)
    assert json.loads(good.item) == {"kind": "state", "seq": 8, "state": json.loads(good.raw)}
    assert good.stage_rank == ALERT


def _body(delta: Delta) -> Any:
    assert delta.frame is not None
    return json.loads(delta.frame.text)


def test_tick_frames_share_one_delta_per_view() -> None:
    states = _states(("POI001", "normal"), ("POI009", "alert"), ("POI001", "caution"))
    frames = TickFrames(states, 3, "ep")
    first = frames.delta(True, LiveFilter(), 1)
    again = frames.delta(True, LiveFilter(), 1)  # an equal filter from another client
    assert again is first and frames.builds == 1
    assert _body(first) == {
        "type": "delta",
        "seq": 3,
        "epoch": "ep",
        "items": [json.loads(states.get(k).item) for k in ("POI009", "POI001")],  # type: ignore[union-attr]
    }
    assert first.superseded == 0  # published after 1: seq 2 and 3, two keys
    lagging = frames.delta(True, None, 0)
    assert frames.builds == 2 and lagging.superseded == 0  # cursor 0 is a fresh view
    assert frames.delta(True, None, 3).frame is None  # up to date: nothing to send
    raw = frames.delta(False, None, 1)
    assert _body(raw)["states"][0] == json.loads(_raw("POI009", "alert"))


@pytest.mark.parametrize(
    ("published", "cursor", "superseded"),
    [
        ((("POI001", "normal"),) * 5, 1, 3),  # seq 2..5 of one key: one sent, three replaced
        ((("POI001", "normal"), ("POI009", "normal")) * 3, 2, 2),
        ((("POI001", "normal"),) * 5, 0, 0),
        ((("POI001", "normal"),) * 5, 5, 0),
    ],
)
def test_superseded_counts_states_replaced_before_the_clients_turn(
    published: tuple[tuple[str, str], ...], cursor: int, superseded: int
) -> None:
    states = _states(*published)
    assert (
        TickFrames(states, len(published), "e").delta(True, None, cursor).superseded == superseded
    )


def test_frame_text() -> None:
    assert json.loads(envelope([b'{"a":1}', b'{"b":2}'])) == {
        "type": "states",
        "states": [{"a": 1}, {"b": 2}],
    }
    snap = json.loads(live_frame("snapshot", 4, "e", [b'{"kind":"reset"}'], '"resumed":true,'))
    assert snap == {"type": "snapshot", "seq": 4, "epoch": "e", "resumed": True, "items": [
        {"kind": "reset"}
    ]}  # fmt: skip
    assert json.loads(heartbeat_frame(9))["seq"] == 9
    assert "seq" not in json.loads(heartbeat_frame())
