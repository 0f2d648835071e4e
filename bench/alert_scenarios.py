"""Scenario builder and evaluator of bench/alert_quality.py (kept apart so a unit test can
run both on a tiny case).

A run feeds events minute by minute through the worker's live state (`streams.live.
LiveStates`, with the calibration the worker would have loaded) and the alert path the
worker's AlertService builds (`alerts.pipeline.build_alert_path`, default settings), and
keeps every crowd alert it raises or escalates. Every key is republished on every tick,
as the worker's refresh does, so a silent source shows up as stale states.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from alerts.pipeline import build_alert_path
from alerts.pipeline.feeds import is_feed
from alerts.recipients import RecipientDirectory
from alerts.rules import TECHNICAL_RULES, AreaInfo, Escalate, Fire, RuleKind
from alerts.settings import AlertSettings
from bench.alert_sms import SmsLedger
from citypulse.domain.stages import DEFAULT_THRESHOLDS, Stage
from citypulse.domain.thresholds import EventDayProfile, ThresholdBook
from sensors.events import CityEvent, PopulationEstimate, ZoneCount
from sensors.registry import Hotspot
from streams.calibration import Calibration
from streams.live import LiveStates

TELECOM_SOURCE = "seoul_hourly_log"
ZONE_ID = "bench"
ZONE_M2 = 2000.0  # a plaza-sized zone watched by two counters
SERIOUS_PER_M2 = DEFAULT_THRESHOLDS.serious


@dataclass(frozen=True)
class Raised:
    """A crowd alert opened or escalated (technical ones are counted apart)."""

    at: datetime
    key: str
    rule: RuleKind
    severity: Stage
    dedup_key: str = ""  # the alert (row) it opened or raised


@dataclass
class RunResult:
    crowd: list[Raised] = field(default_factory=list)
    technical: list[Raised] = field(default_factory=list)
    sms: SmsLedger | None = None  # with a recipient directory: what was texted

    def first(self, key: str, rule: RuleKind | None = None) -> Raised | None:
        hits = [r for r in self.crowd if r.key == key and (rule is None or r.rule is rule)]
        return min(hits, key=lambda r: r.at, default=None)


def replay(
    events: Iterable[CityEvent],
    start: datetime,
    end: datetime,
    hotspots: Mapping[str, Hotspot],
    calibration: Calibration | None,
    tick: timedelta = timedelta(minutes=1),
    settings: AlertSettings | None = None,
    directory: RecipientDirectory | None = None,
    ack_after_s: float | None = 240.0,
    book: ThresholdBook | None = None,
) -> RunResult:
    """A worker started at `start` (cold: no state, startup grace) running until `end`.
    With a `directory`, every change also goes where AlertService sends it (records,
    grouping, fan-out, rate limit, reminders: bench/alert_sms.py), counted in `sms`.
    `book`: operator thresholds and declared event days, as the worker reads them."""
    settings = settings or AlertSettings()
    areas = {c: AreaInfo(c, h.name_ko, h.name_en, h.district) for c, h in hotspots.items()}
    path = build_alert_path(settings, areas, book)
    live = LiveStates(hotspots, calibration=calibration)
    path.start((), start)
    pending = sorted(events, key=lambda e: e.event_time)
    out, i, now = RunResult(), 0, start
    if directory is not None:
        out.sms = SmsLedger(path, directory, settings.escalation(), ack_after_s)
    while now < end:
        now += tick
        batch: list[CityEvent] = []
        while i < len(pending) and pending[i].event_time < now:
            batch.append(pending[i])
            i += 1
        live.apply(batch)
        changes = []
        for area, zone in sorted(live.keys(), key=lambda k: (k[0], k[1] or "")):
            state = live.state(area, zone, now)
            if state is not None:
                changes += path.on_state(state, now)
        changes += path.on_sweep(now)
        if out.sms is not None:
            out.sms.apply(changes, now)
            out.sms.on_tick(now)
        for d in changes:
            if not isinstance(d, Fire | Escalate):
                continue
            raised = Raised(now, d.subject.key, d.rule, d.severity, d.dedup_key)
            technical = d.rule in TECHNICAL_RULES or is_feed(d.subject.key)
            (out.technical if technical else out.crowd).append(raised)
    return out


# -- declared crowds ------------------------------------------------------------------------


def load_calendar(path: Path) -> ThresholdBook:
    """Event days an operator declared (bench/event_calendar.json), as the worker's
    threshold reader would hand them over; every entry must name its sources."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    events = []
    for e in doc["events"]:
        if not e.get("sources"):
            raise ValueError(f"event {e['name']!r} names no sources")
        events.append(
            EventDayProfile(
                name=e["name"],
                start=datetime.fromisoformat(e["starts_at"]),
                end=datetime.fromisoformat(e["ends_at"]),
                thresholds=DEFAULT_THRESHOLDS,
                area_codes=frozenset(e["area_codes"]),
                expected_people=e.get("expected_people"),
            )
        )
    return ThresholdBook(events=tuple(events))


def expected_at(book: ThresholdBook | None, area: str, at: datetime) -> float:
    """The largest crowd declared for the area at that time (0: none)."""
    if book is None:
        return 0.0
    return max(
        (p.expected_people or 0.0 for p in book.events if p.applies(area, None, at)), default=0.0
    )


# -- telecom (area) series -----------------------------------------------------------------

Series = list[tuple[datetime, float]]  # (time, people) of one area


def interpolate(
    points: Sequence[tuple[datetime, float]],
    step: timedelta,
    max_gap: timedelta,
    usual: Callable[[datetime], float] | None = None,
) -> Series:
    """Seoul updates each area every 5 minutes; the recording kept a few samples a day.
    Between two recorded samples the area follows its usual daily shape (`usual`: people
    at a time of day), scaled so that its ratio to the usual count moves on a straight
    line from one sample's ratio to the next; without a shape, a straight line. No line
    across a gap longer than `max_gap` (the recording's own outages stay outages).

    A straight line across four evening hours (23,000 at 20:00 to 3,250 at 01:45) put
    8,000 people in an area at midnight that held 3,000: a surge nobody saw."""
    pts = sorted(points)
    out: Series = []
    for (t0, p0), (t1, p1) in itertools.pairwise(pts):
        out.append((t0, p0))
        if t1 - t0 > max_gap:
            continue
        u0 = usual(t0) if usual else 0.0
        u1 = usual(t1) if usual else 0.0
        t = t0 + step
        while t < t1:
            w = (t - t0) / (t1 - t0)
            ut = usual(t) if usual else 0.0
            if usual and u0 > 0 and u1 > 0 and ut > 0:
                # Within the two samples: a shape that dips near one of them must not
                # turn its ratio into a peak nobody recorded.
                along = ut * (p0 / u0 + (p1 / u1 - p0 / u0) * w)
                out.append((t, min(max(p0, p1), max(min(p0, p1), along))))
            else:
                out.append((t, p0 + (p1 - p0) * w))
            t += step
    if pts:
        out.append(pts[-1])
    return out


def telecom_events(area: str, series: Series) -> list[PopulationEstimate]:
    """Seoul's range is about ±5 % around its middle; the service reads the middle."""
    return [
        PopulationEstimate(
            event_id=f"bench:{area}:{t.isoformat()}",
            source=TELECOM_SOURCE,
            event_time=t,
            ingest_time=t,
            area_code=area,
            people_min=round(p * 0.95),
            people_max=round(p * 1.05),
        )
        for t, p in series
    ]


@dataclass(frozen=True)
class AreaSurge:
    """An area climbing from its recorded count to `factor` x its normal over `ramp_min`,
    held `hold_min`, then back over 30 minutes."""

    area: str
    start: datetime
    ramp_min: int
    factor: float
    hold_min: int = 60


def inject_surge(series: Series, surge: AreaSurge, normal: Mapping[datetime, float]) -> Series:
    """`normal` holds the area's usual count at each time of the series."""
    ramp = timedelta(minutes=surge.ramp_min)
    top_end = surge.start + ramp + timedelta(minutes=surge.hold_min)
    out: Series = []
    for t, p in series:
        if t < surge.start or t > top_end + timedelta(minutes=30):
            out.append((t, p))
            continue
        if t <= surge.start + ramp:
            share = (t - surge.start) / ramp
        elif t <= top_end:
            share = 1.0
        else:
            share = 1.0 - (t - top_end) / timedelta(minutes=30)
        target = surge.factor * normal[t]
        out.append((t, p + max(0.0, target - p) * share))
    return out


def first_at_ratio(
    series: Series, normal: Mapping[datetime, float], ratio: float
) -> datetime | None:
    return next((t for t, p in series if normal.get(t, 0) > 0 and p >= ratio * normal[t]), None)


# -- zone counters -------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneCase:
    """Two counters in one zone, one reading a minute each, following a density profile.

    `profile` gives (minute, density) knots (straight lines between them); `offsets` how
    far each counter reads from the zone's density (their spots differ); `silent` when a
    counter sent nothing, as (counter index, from minute, to minute)."""

    area: str
    start: datetime
    profile: tuple[tuple[float, float], ...]
    offsets: tuple[float, float] = (-0.1, 0.1)
    silent: tuple[tuple[int, float, float], ...] = ()
    noise: float = 0.03  # relative, per reading
    seed: int = 0

    @property
    def key(self) -> str:
        return f"{self.area}/{ZONE_ID}"

    @property
    def minutes(self) -> float:
        return self.profile[-1][0]

    def density(self, minute: float) -> float:
        knots = self.profile
        for (m0, d0), (m1, d1) in itertools.pairwise(knots):
            if m0 <= minute <= m1:
                return d0 if m1 == m0 else d0 + (d1 - d0) * (minute - m0) / (m1 - m0)
        return knots[-1][1]

    def crossing(self, density: float) -> datetime | None:
        """When the zone's true density first reaches `density`."""
        m = 0
        while m <= self.minutes:
            if self.density(m) >= density:
                return self.start + timedelta(minutes=m)
            m += 1
        return None


def zone_events(case: ZoneCase) -> list[ZoneCount]:
    rng = random.Random(case.seed)
    out: list[ZoneCount] = []
    m = 0
    while m <= case.minutes:
        t = case.start + timedelta(minutes=m)
        for idx, offset in enumerate(case.offsets):
            if any(c == idx and a <= m < b for c, a, b in case.silent):
                continue
            d = max(0.0, (case.density(m) + offset) * (1 + rng.gauss(0, case.noise)))
            out.append(
                ZoneCount(
                    event_id=f"bench:{case.key}:{idx}:{m}",
                    source="bench_counter",
                    event_time=t,
                    ingest_time=t,
                    area_code=case.area,
                    zone_id=ZONE_ID,
                    counter_id=f"c{idx}",
                    count=round(d * ZONE_M2),
                    walkable_m2=ZONE_M2,
                )
            )
        m += 1
    return out


def zone_ramp(area: str, start: datetime, ramp_min: int, seed: int = 0) -> ZoneCase:
    """1 -> 7 persons/m² over `ramp_min`, after an hour at 1/m² (the trend is warm),
    held 20 minutes, then back down."""
    r = float(ramp_min)
    knots = ((0.0, 1.0), (60.0, 1.0), (60 + r, 7.0), (80 + r, 7.0), (110 + r, 1.0))
    return ZoneCase(area, start, knots, seed=seed)


@dataclass(frozen=True)
class Lead:
    """Minutes between the first alert and the dangerous crossing (negative: late)."""

    warning_min: float | None  # the first alert of any crowd rule on the key
    forecast_min: float | None  # the forecast warning of 심각


def ramp_lead(result: RunResult, case: ZoneCase) -> Lead:
    cross = case.crossing(SERIOUS_PER_M2)
    if cross is None:
        raise ValueError("the case never reaches 심각")
    first = result.first(case.key)
    forecast = result.first(case.key, RuleKind.FORECAST)

    def minutes(r: Raised | None) -> float | None:
        return None if r is None or cross is None else (cross - r.at) / timedelta(minutes=1)

    return Lead(minutes(first), minutes(forecast))
