"""When the watchdog texts: one message per outage per check, one on recovery.

Each check keeps when it last showed life. A probe reports a `Seen` time, `NotSeen`
(looked, nothing new: the feed's offsets did not move, the database did not answer) or
`Unknown` (could not look: the worker's heartbeat while the database is down), which
changes nothing, so a database outage texts once as the database, not also as every
process whose heartbeat lives in it. State is plain data, saved between runs, so a
restarted watchdog does not text an outage again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from citypulse.domain.korea_time import KST

CHECKS = ("database", "worker", "dispatcher", "feed")
LABELS = {
    "database": "database unreachable",
    "worker": "stream worker heartbeat stopped",
    "dispatcher": "SMS dispatcher heartbeat stopped",
    "feed": "input feed not advancing",
}


@dataclass(frozen=True)
class Seen:
    at: float  # epoch seconds of the latest sign of life


@dataclass(frozen=True)
class NotSeen:
    pass


@dataclass(frozen=True)
class Unknown:
    pass


Sighting = Seen | NotSeen | Unknown


@dataclass(frozen=True)
class CheckState:
    last_alive: float | None = None
    down: bool = False
    changed_at: float | None = None  # when `down` last flipped
    pending: tuple[str, ...] = ()  # numbers still to text about the last flip


@dataclass(frozen=True)
class Notice:
    check: str
    kind: Literal["down", "recovered"]
    to: str
    text: str
    message_id: str


@dataclass(frozen=True)
class WatchState:
    checks: Mapping[str, CheckState] = field(default_factory=dict)
    feed_total: int | None = None  # sum of the input topic's end offsets at the last look


def observe(
    state: CheckState, sighting: Sighting, now: float, stale_s: float, oncall: Sequence[str]
) -> CheckState:
    """One check after one look."""
    if isinstance(sighting, Unknown):
        return state
    # A check met for the first time gets a full period of grace from now: an old
    # heartbeat left from before `up` is not an outage of the processes just started.
    last = now if state.last_alive is None else state.last_alive
    if isinstance(sighting, Seen):
        last = max(last, sighting.at)
    age = now - last
    down = age > stale_s
    if down == state.down:
        return replace(state, last_alive=last)
    return CheckState(last_alive=last, down=down, changed_at=now, pending=tuple(oncall))


def feed_sighting(previous_total: int | None, total: int | None, now: float) -> Sighting:
    """The input topic's end offsets moving is the feed's sign of life."""
    if total is None:
        return NotSeen()  # Kafka unreachable: no input is arriving either
    if previous_total is None or total != previous_total:
        return Seen(now)
    return NotSeen()


def step(
    state: WatchState,
    sightings: Mapping[str, Sighting],
    now: float,
    stale_s: Mapping[str, float],
    oncall: Sequence[str],
    feed_total: int | None = None,
) -> WatchState:
    """All checks after one round; a check without a threshold (or <= 0) is off."""
    checks = dict(state.checks)
    for name, sighting in sightings.items():
        limit = stale_s.get(name, 0.0)
        if limit > 0:
            checks[name] = observe(checks.get(name, CheckState()), sighting, now, limit, oncall)
    total = feed_total if feed_total is not None else state.feed_total
    return WatchState(checks, total)


def notices(state: WatchState, host: str) -> list[Notice]:
    """The messages still owed: one per pending number of every check that flipped."""
    out = []
    for name, c in sorted(state.checks.items()):
        if not c.pending or c.changed_at is None:
            continue
        kind: Literal["down", "recovered"] = "down" if c.down else "recovered"
        text = message(name, kind, c, host)
        for n, to in enumerate(c.pending):
            out.append(Notice(name, kind, to, text, f"wd-{name}-{kind}-{int(c.changed_at)}-{n}"))
    return out


def told(state: WatchState, check: str, to: str) -> WatchState:
    """State once `to` has the message about `check`'s last flip."""
    c = state.checks[check]
    rest = tuple(n for n in c.pending if n != to)
    return replace(state, checks={**state.checks, check: replace(c, pending=rest)})


def message(check: str, kind: str, c: CheckState, host: str) -> str:
    at = datetime.fromtimestamp(c.changed_at or 0, UTC).astimezone(KST).strftime("%m-%d %H:%M")
    if kind == "down":
        since = (
            ""
            if c.last_alive is None
            else ", last seen "
            + datetime.fromtimestamp(c.last_alive, UTC).astimezone(KST).strftime("%H:%M:%S")
        )
        return f"CityPulse watchdog ({host}): DOWN {at} KST, {LABELS.get(check, check)}{since}"
    return f"CityPulse watchdog ({host}): RECOVERED {at} KST, {check} is back"


def to_json(state: WatchState) -> dict[str, object]:
    return {
        "feed_total": state.feed_total,
        "checks": {
            k: {"last_alive": c.last_alive, "down": c.down, "changed_at": c.changed_at,
                "pending": list(c.pending)}
            for k, c in state.checks.items()
        },
    }  # fmt: skip


def from_json(data: Mapping[str, object]) -> WatchState:
    raw = data.get("checks")
    checks = {}
    if isinstance(raw, dict):
        for k, c in raw.items():
            checks[str(k)] = CheckState(
                last_alive=c.get("last_alive"), down=bool(c.get("down")),
                changed_at=c.get("changed_at"), pending=tuple(c.get("pending") or ()),
            )  # fmt: skip
    total = data.get("feed_total")
    return WatchState(checks, total if isinstance(total, int) else None)
