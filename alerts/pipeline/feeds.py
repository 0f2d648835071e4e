"""A source that goes silent for many areas at once is ONE feed alert, not one per area.

Data-gap FIREs are held per silent source (the stale sources of the area's last state;
`stream` when no state came at all) for `window_s`. If `min_areas` gather, they become
one feed alert (subject `feed.<source>`) and every later gap of that source is absorbed
into it; the feed alert resolves when the last absorbed area is back. Fewer than
`min_areas` in the window leave as the per-area alerts they are. Absorbed areas stay
open in the engine, so they neither fire again nor go unresolved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.pipeline.decide import Change
from alerts.rules import AlertSubject, Fire, OpenAlert, Reading, Resolve, RuleKind, dedup_key
from alerts.rules.decisions import FEED_PREFIX
from citypulse.domain.area_state import AreaState

_SOURCE_NAMES = {  # source -> (ko, en)
    "telecom": ("통신사 인구", "telecom population"),
    "zone_counter": ("구역 계수기", "zone counters"),
    "visitor_count": ("방문객 집계", "visitor counts"),
    "stream": ("상태 스트림", "area states"),
}


def feed_subject(source: str, areas: int) -> AlertSubject:
    ko, en = _SOURCE_NAMES.get(source, (source, source))
    key = f"{FEED_PREFIX}{source}"
    # `areas` is how many had gone silent when the feed alert opened; more may follow
    # (they are absorbed into it), so the name says "at least".
    return AlertSubject(
        key, key, None, "", f"{ko} 피드 {areas}곳 이상", f"{en} feed, {areas}+ areas"
    )


def is_feed(key: str) -> bool:
    return key.startswith(FEED_PREFIX)


@dataclass
class _Feed:
    fire: Fire  # what opened it (subject, severity, reading for the resolution)
    members: set[str]  # dedup keys of the absorbed per-area gaps
    restored_at: datetime | None = None


@dataclass
class FeedOutages:
    min_areas: int = 5
    window_s: float = 120.0
    # A feed alert restored after a restart with no area silent on it after this long
    # is over: its areas came back while the worker was away.
    settle_s: float = 600.0
    release: Callable[[str], None] = lambda _key: None
    _source: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _held: dict[str, list[Fire]] = field(default_factory=dict, init=False, repr=False)
    _open: dict[str, _Feed] = field(default_factory=dict, init=False, repr=False)

    def observe(self, state: AreaState) -> None:
        """Remember which source a stale key lost (a fresh state forgets it): a listed
        input gone stale, or a needed source never heard at all (silent since the start)."""
        if state.stale:
            stale = sorted({s.source for s in state.sources if s.stale} | set(state.silent_sources))
            self._source[state.key] = "+".join(stale) or "stream"
        else:
            self._source.pop(state.key, None)

    def restore(self, open_alerts: Iterable[OpenAlert], now: datetime) -> None:
        for a in open_alerts:
            if a.rule is RuleKind.DATA_GAP and is_feed(a.subject.key):
                fire = Fire(
                    dedup_key=a.dedup_key, rule=a.rule, subject=a.subject, severity=a.severity,
                    reading=Reading(as_of=now, density_per_m2=0.0, people=0.0),
                    reason="restored", decided_at=now,
                )  # fmt: skip
                self._open[a.subject.key.removeprefix(FEED_PREFIX)] = _Feed(fire, set(), now)

    def __call__(self, changes: list[Change], now: datetime) -> list[Change]:
        out = self._due(now)
        for d in changes:
            if d.rule is not RuleKind.DATA_GAP or is_feed(d.subject.key):
                out.append(d)
            elif isinstance(d, Fire):
                out += self._gap(d, now)
            elif isinstance(d, Resolve):
                out += self._back(d, now)
            else:
                out.append(d)
        return out

    def rolled_back(self, d: Change) -> None:
        """The database refused a feed alert: its areas decide again."""
        source = d.subject.key.removeprefix(FEED_PREFIX)
        feed = self._open.get(source) if is_feed(d.subject.key) else None
        if isinstance(d, Fire) and feed is not None:
            del self._open[source]
            for key in feed.members:
                self.release(key)

    def released(self, dedup: str) -> None:
        """An operator closed a feed alert by hand: its areas decide again (after a fresh
        hold), so a source still silent is not absorbed into a closed alert."""
        source = dedup.rpartition(":")[0].removeprefix(FEED_PREFIX)
        feed = self._open.pop(source, None) if is_feed(dedup) else None
        for key in feed.members if feed else ():
            self.release(key)

    def _gap(self, d: Fire, now: datetime) -> list[Change]:
        source = self._source.get(d.subject.key, "stream")
        feed = self._open.get(source)
        if feed is not None:
            feed.members.add(d.dedup_key)
            feed.restored_at = None
            return []
        held = self._held.setdefault(source, [])
        held.append(d)
        if len(held) < self.min_areas:
            return []
        del self._held[source]
        subject = feed_subject(source, len(held))
        fire = Fire(
            dedup_key=dedup_key(subject.key, RuleKind.DATA_GAP), rule=RuleKind.DATA_GAP,
            subject=subject, severity=max(h.severity for h in held), reading=held[0].reading,
            reason=f"{len(held)} areas silent on {source} within {self.window_s:.0f} s",
            decided_at=now,
        )  # fmt: skip
        self._open[source] = _Feed(fire, {h.dedup_key for h in held})
        return [fire]

    def _back(self, d: Resolve, now: datetime) -> list[Change]:
        for source, held in list(self._held.items()):
            if any(h.dedup_key == d.dedup_key for h in held):
                self._held[source] = [h for h in held if h.dedup_key != d.dedup_key]
                return []  # never announced, nothing to resolve
        for source, feed in list(self._open.items()):
            if d.dedup_key in feed.members:
                feed.members.discard(d.dedup_key)
                return [] if feed.members else [self._close(source, now, d)]
        return [d]

    def _close(self, source: str, now: datetime, last: Resolve | None = None) -> Resolve:
        fire = self._open.pop(source).fire
        self.release(fire.dedup_key)
        return Resolve(
            dedup_key=fire.dedup_key, rule=fire.rule, subject=fire.subject,
            severity=fire.severity, reading=last.reading if last else fire.reading,
            reason="feed back", decided_at=now,
        )  # fmt: skip

    def _due(self, now: datetime) -> list[Change]:
        out: list[Change] = []
        window = timedelta(seconds=self.window_s)
        for source, held in list(self._held.items()):
            if held and now - held[0].decided_at >= window:
                out += held  # too few for a feed outage: the areas' own alerts
                del self._held[source]
            elif not held:
                del self._held[source]
        for source, feed in list(self._open.items()):
            settled = feed.restored_at and now - feed.restored_at >= timedelta(
                seconds=self.settle_s
            )
            if settled and not feed.members:
                out.append(self._close(source, now))
        return out
