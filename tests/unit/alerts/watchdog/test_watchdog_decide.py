"""When the watchdog texts: once per outage per check, once on recovery, never for what
it cannot see."""

from __future__ import annotations

import pytest

from alerts.watchdog.decide import (
    CheckState,
    NotSeen,
    Seen,
    Sighting,
    Unknown,
    WatchState,
    feed_sighting,
    from_json,
    notices,
    observe,
    step,
    to_json,
    told,
)

ONCALL = ("+821000000101", "+821000000102")
T0 = 1_800_000_000.0


def run(sightings: list[tuple[float, Sighting]], stale_s: float = 60) -> list[CheckState]:
    """The check's state after each (time, sighting), starting fresh."""
    state, out = CheckState(), []
    for now, sighting in sightings:
        state = observe(state, sighting, T0 + now, stale_s, ONCALL)
        out.append(state)
    return out


@pytest.mark.parametrize(
    ("sightings", "downs"),
    [
        # alive all along
        ([(0, Seen(T0)), (30, Seen(T0 + 30)), (90, Seen(T0 + 85))], [False, False, False]),
        # stops: down only once the threshold has passed, and stays down
        ([(0, Seen(T0)), (60, NotSeen()), (61, NotSeen()), (200, NotSeen())],
         [False, False, True, True]),
        # comes back
        ([(0, Seen(T0)), (70, NotSeen()), (80, Seen(T0 + 79))], [False, True, False]),
        # never seen at all: grace from the watchdog's first look, then down
        ([(0, NotSeen()), (59, NotSeen()), (61, NotSeen())], [False, False, True]),
        # an old heartbeat from before the watchdog started is not an outage yet
        ([(0, Seen(T0 - 3600)), (30, Seen(T0 - 3600)), (61, Seen(T0 - 3600))],
         [False, False, True]),
        # unknown (database down) changes nothing, either way
        ([(0, Seen(T0)), (100, Unknown()), (500, Unknown())], [False, False, False]),
        ([(0, Seen(T0)), (70, NotSeen()), (500, Unknown())], [False, True, True]),
    ],
)  # fmt: skip
def test_down_after_threshold_and_back(
    sightings: list[tuple[float, Sighting]], downs: list[bool]
) -> None:
    assert [s.down for s in run(sightings)] == downs


def test_one_flip_owes_one_message_per_number_and_none_after() -> None:
    states = run([(0, Seen(T0)), (61, NotSeen()), (62, NotSeen()), (300, NotSeen())])
    assert states[1].pending == ONCALL
    # Later looks at the same outage owe nothing new, even before the first was sent.
    assert states[2].pending == ONCALL and states[2].changed_at == states[1].changed_at
    watch = WatchState({"worker": states[3]})
    owed = notices(watch, "host")
    assert [(n.check, n.kind, n.to) for n in owed] == [("worker", "down", t) for t in ONCALL]
    assert "DOWN" in owed[0].text and "stream worker" in owed[0].text
    for n in owed:
        watch = told(watch, n.check, n.to)
    assert notices(watch, "host") == []


def test_recovery_owes_its_own_message() -> None:
    watch = WatchState()
    limits = {"worker": 60.0}
    for now, sighting in [(0, Seen(T0)), (61, NotSeen())]:
        watch = step(watch, {"worker": sighting}, T0 + now, limits, ONCALL)
    for n in notices(watch, "h"):
        watch = told(watch, n.check, n.to)
    watch = step(watch, {"worker": Seen(T0 + 70)}, T0 + 70, limits, ONCALL)
    owed = notices(watch, "h")
    assert {n.kind for n in owed} == {"recovered"} and len(owed) == len(ONCALL)
    # Message ids differ per flip and number (Kannel's dlr-url carries them).
    assert len({n.message_id for n in owed}) == len(owed)


def test_message_ids_fit_kannel_dlr_url() -> None:
    from alerts.providers.kannel_dlr import dlr_callback_url

    watch = WatchState({"dispatcher": run([(0, NotSeen()), (61, NotSeen())])[-1]})
    for n in notices(watch, "h"):
        dlr_callback_url("http://x/sms/dlr/kannel", n.message_id, "s" * 32)  # raises if unsafe


def test_database_down_texts_once_as_the_database() -> None:
    watch, limits = WatchState(), {"database": 60.0, "worker": 60.0, "dispatcher": 60.0}
    up = {"database": Seen(T0), "worker": Seen(T0), "dispatcher": Seen(T0)}
    watch = step(watch, up, T0, limits, ONCALL)
    db_down = {"database": NotSeen(), "worker": Unknown(), "dispatcher": Unknown()}
    for t in (30, 61, 300):
        watch = step(watch, db_down, T0 + t, limits, ONCALL)
    assert {n.check for n in notices(watch, "h")} == {"database"}


@pytest.mark.parametrize(("limit", "checked"), [(60.0, True), (0.0, False)])
def test_a_zero_threshold_turns_a_check_off(limit: float, checked: bool) -> None:
    watch = step(WatchState(), {"feed": NotSeen()}, T0, {"feed": limit}, ONCALL)
    watch = step(watch, {"feed": NotSeen()}, T0 + 100, {"feed": limit}, ONCALL)
    assert ("feed" in watch.checks and watch.checks["feed"].down) is checked


@pytest.mark.parametrize(
    ("previous", "total", "moving"),
    [(None, 10, True), (10, 12, True), (10, 10, False), (10, None, False), (None, None, False)],
)
def test_the_feed_lives_while_its_offsets_move(
    previous: int | None, total: int | None, moving: bool
) -> None:
    assert isinstance(feed_sighting(previous, total, T0), Seen) is moving


def test_state_survives_a_restart_of_the_watchdog() -> None:
    watch = WatchState({"worker": run([(0, NotSeen()), (61, NotSeen())])[-1]}, feed_total=7)
    again = from_json(to_json(watch))
    assert again == watch
    # The restarted watchdog owes what was owed, and nothing once it was told.
    assert notices(again, "h") == notices(watch, "h")
