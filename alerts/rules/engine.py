"""AlertEngine: AreaState in, alert decisions out. Pure: the caller passes `now`.

Per key (area or zone) it keeps one LevelTracker per rule, the last event time and seq.
Holds and hysteresis run in event time (`state.as_of`); silences use `now`. A stale state
never clears or raises a density alert (a silent feed must never look calm); it feeds
the data-gap rule instead. A state whose density is implausible never raises, escalates
or clears one either; any implausible input feeds the data-quality rule. A trend that
is not ready (`trend_ready`) is never used by a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from alerts.rules.config import AlertPolicy, RuleKind, RuleSet, dedup_key
from alerts.rules.decisions import (
    AlertDecision,
    AlertSubject,
    AreaInfo,
    Deescalate,
    Escalate,
    Fire,
    Mute,
    NoChange,
    Reading,
    Resolve,
)
from alerts.rules.levels import LevelTracker
from alerts.rules.rule_conditions import conditions_for, warning_point
from alerts.rules.silences import Silence, matching_silence
from citypulse.domain.area_state import AreaState
from citypulse.domain.stages import Stage

_RULE_ORDER = (
    RuleKind.STAGE,
    RuleKind.ABOVE_NORMAL,
    RuleKind.FORECAST,
    RuleKind.RATE_OF_RISE,
    RuleKind.DATA_GAP,
    RuleKind.DATA_QUALITY,
)
# Rules about the feed, not the crowd: they run on every state, stale or implausible.
_FEED_RULES = frozenset({RuleKind.DATA_GAP, RuleKind.DATA_QUALITY})
# Alerts whose text already carries a fast rise (the trend per minute): while one of the
# same key is open at or above its severity, the rate-of-rise rule opens no second alert.
_COVERING_RULES = (RuleKind.STAGE, RuleKind.FORECAST, RuleKind.ABOVE_NORMAL)
# The forecast warning and the stage it warns of are one alert per key
# (`ForecastRule.one_alert_with_stage`): its level is the higher of the two rules' levels,
# its row the one whichever rule opened it (`_KeyState.joint`). On a tie the stage opens.
_JOINT = (RuleKind.STAGE, RuleKind.FORECAST)


@dataclass(frozen=True)
class OpenAlert:
    """An open alert as the database knows it; used to rebuild the engine after restart."""

    dedup_key: str
    subject: AlertSubject
    rule: RuleKind
    severity: Stage


@dataclass
class _KeyState:
    subject: AlertSubject
    trackers: dict[RuleKind, LevelTracker]
    last_as_of: datetime | None = None
    last_seq: int = -1
    last_reading: Reading | None = None
    joint: str | None = None  # dedup key of the open stage/forecast alert of this key
    joint_level: Stage = Stage.NORMAL


@dataclass
class AlertEngine:
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    areas: Mapping[str, AreaInfo] = field(default_factory=dict)
    silences: tuple[Silence, ...] = ()
    _keys: dict[str, _KeyState] = field(default_factory=dict, init=False, repr=False)

    # -- inputs -------------------------------------------------------------------------

    def evaluate(self, state: AreaState, now: datetime) -> list[AlertDecision]:
        """`decide`, then `mute` (silences, inhibition)."""
        return self.mute(self.decide(state, now), now)

    def sweep(self, now: datetime) -> list[AlertDecision]:
        """`find_gaps`, then `mute`."""
        return self.mute(self.find_gaps(now), now)

    def mute(self, decisions: Iterable[AlertDecision], now: datetime) -> list[AlertDecision]:
        """Mark what a silence or a higher open alert of the same area keeps from texting."""
        return [self._muted(d, now) for d in decisions]

    def decide(self, state: AreaState, now: datetime) -> list[AlertDecision]:
        """The rules' decisions for one state, not yet muted."""
        ks = self._key_state(state.key, state.area_code, state.zone_id)
        if ks.last_as_of is not None and (state.as_of, state.seq) <= (ks.last_as_of, ks.last_seq):
            return [NoChange(state.key, "out_of_order_or_duplicate", now)]
        rules = self.policy.rules_for(
            state.area_code, state.zone_id, ks.subject.district, state.as_of
        )
        gap_broken = ks.last_as_of is not None and (
            (state.as_of - ks.last_as_of).total_seconds() > self.policy.max_sample_gap_s
        )
        ks.last_as_of, ks.last_seq = state.as_of, state.seq
        peak = warning_point(state, rules)
        reading = Reading(
            as_of=state.as_of,
            density_per_m2=state.density_per_m2,
            people=state.people,
            normal_people=state.normal_people,
            trend_per_min=state.trend_per_min if state.trend_ready else None,
            forecast_density_per_m2=peak[1] if peak else None,
            forecast_horizon_min=peak[0] if peak else None,
        )
        ks.last_reading = reading
        # A stale or impossible density says nothing about the crowd: no raise, no
        # escalation, no clear, and holds start over.
        blind = state.stale or not state.density_plausible
        changes: list[AlertDecision] = []
        joint = rules.forecast.one_alert_with_stage
        warned = False  # the forecast rule rose this state
        for rule in _RULE_ORDER:
            if joint and rule is RuleKind.RATE_OF_RISE:
                # both joint rules have stepped: one decision for their one alert
                change = self._joint_change(ks, rules, reading, now, warned)
                if change is not None:
                    changes.append(change)
            tracker = self._tracker(ks, rule, rules)
            if tracker is None:
                continue
            if rule not in _FEED_RULES and (blind or gap_broken):
                tracker.reset_timers()
                if blind:
                    continue
            cover = self._cover(ks, rule, rules)
            if cover is not None:
                # Another alert of this key already says it (rules before this one in
                # _RULE_ORDER have stepped): no second alert; an open one is folded in.
                tracker.reset_timers()
                if tracker.level > Stage.NORMAL:
                    previous, tracker.level = tracker.level, Stage.NORMAL
                    changes.append(
                        self._decision(
                            ks, rule, rules, previous, Stage.NORMAL, reading, now,
                            reason=f"folded into {cover}", folded_into=cover,
                        )
                    )  # fmt: skip
                continue
            hold_s, clear_hold_s = _holds(rules, rule)
            cond = conditions_for(rule, rules, state, tracker.levels)
            previous, level = tracker.step(state.as_of, cond, hold_s, clear_hold_s)
            if joint and rule in _JOINT:
                warned = warned or (rule is RuleKind.FORECAST and level > previous)
                continue  # decided with the other joint rule (_joint_change)
            if level != previous:
                quality = rule is RuleKind.DATA_QUALITY and level > previous
                why = _quality_reason(state) if quality else None
                changes.append(
                    self._decision(ks, rule, rules, previous, level, reading, now, reason=why)
                )
        return changes

    def find_gaps(self, now: datetime) -> list[AlertDecision]:
        """Fire data-gap alerts for watched keys that sent nothing for silent_after_s.

        Called on a timer: a feed that stopped entirely produces no AreaState at all.
        """
        changes: list[AlertDecision] = []
        for ks in self._keys.values():
            if ks.last_as_of is None or ks.last_reading is None:
                continue
            rules = self.policy.rules_for(
                ks.subject.area_code, ks.subject.zone_id, ks.subject.district, now
            )
            tracker = self._tracker(ks, RuleKind.DATA_GAP, rules)
            silent_s = (now - ks.last_as_of).total_seconds()
            if tracker is None or tracker.level > Stage.NORMAL:
                continue
            if silent_s >= rules.data_gap.silent_after_s:
                tracker.level = rules.data_gap.severity
                tracker.reset_timers()
                changes.append(
                    self._decision(
                        ks,
                        RuleKind.DATA_GAP,
                        rules,
                        Stage.NORMAL,
                        tracker.level,
                        ks.last_reading,
                        now,
                        reason=f"no data for {silent_s:.0f} s",
                    )
                )
        return changes

    def replace_silences(self, silences: Iterable[Silence]) -> None:
        self.silences = tuple(silences)

    def restore(self, open_alerts: Iterable[OpenAlert], now: datetime) -> None:
        """Rebuild open levels from the database after a restart (timers start afresh)."""
        for alert in open_alerts:
            s = alert.subject
            ks = self._keys.setdefault(s.key, _KeyState(subject=s, trackers={}))
            rules = self.policy.rules_for(s.area_code, s.zone_id, s.district, now)
            # The row's own rule (a joint alert's changes may name the other rule).
            rule = RuleKind(alert.dedup_key.rpartition(":")[2])
            if rules.forecast.one_alert_with_stage and rule in _JOINT:
                self._restore_joint(ks, alert.dedup_key, rule, alert.severity, rules)
                continue
            tracker = self._tracker(ks, rule, rules)
            if tracker is not None:
                tracker.level = alert.severity

    def _restore_joint(
        self, ks: _KeyState, dedup: str, rule: RuleKind, level: Stage, rules: RuleSet
    ) -> None:
        """A joint alert back at `level`: its own rule at the most it can say, the other
        rule at the rest (a forecast row at 심각 got there by the stage)."""
        ks.joint, ks.joint_level = dedup, level
        for member in (rule, *(r for r in _JOINT if r is not rule)):
            tracker = self._tracker(ks, member, rules)
            if tracker is None:
                continue
            fits = [lvl for lvl in tracker.levels if lvl <= level]
            tracker.level = max(fits, default=Stage.NORMAL)
            if tracker.level == level:
                break

    def release(self, dedup: str) -> None:
        """An operator resolved the alert by hand: the rule may fire again after its hold."""
        key, _, rule = dedup.rpartition(":")
        ks = self._keys.get(key)
        if ks is not None and ks.joint == dedup:
            # the joint alert: both its rules start afresh
            ks.joint, ks.joint_level = None, Stage.NORMAL
            for member in _JOINT:
                if member in ks.trackers:
                    ks.trackers[member].level = Stage.NORMAL
                    ks.trackers[member].reset_timers()
            return
        if ks is not None and RuleKind(rule) in ks.trackers:
            tracker = ks.trackers[RuleKind(rule)]
            tracker.level = Stage.NORMAL
            tracker.reset_timers()

    # -- queries ------------------------------------------------------------------------

    def open_levels(self) -> dict[str, Stage]:
        """Dedup key -> stage of every alert the engine considers open."""
        out = {
            dedup_key(key, rule): t.level
            for key, ks in self._keys.items()
            for rule, t in ks.trackers.items()
            if t.level > Stage.NORMAL and not (ks.joint is not None and rule in _JOINT)
        }
        out.update({ks.joint: ks.joint_level for ks in self._keys.values() if ks.joint})
        return out

    def inhibitor_of(self, dedup: str) -> str | None:
        """Dedup key of the open alert that mutes this one (same area, higher, ≥ 심각)."""
        key, _, rule_name = dedup.rpartition(":")
        ks = self._keys.get(key)
        if ks is None:
            return None
        level = self.open_levels().get(dedup, Stage.NORMAL)
        if level <= Stage.NORMAL:
            return None
        return self._inhibitor(ks.subject.area_code, dedup, RuleKind(rule_name), level)

    # -- internals ----------------------------------------------------------------------

    def _key_state(self, key: str, area_code: str, zone_id: str | None) -> _KeyState:
        ks = self._keys.get(key)
        if ks is None:
            info = self.areas.get(area_code) or AreaInfo(area_code, area_code, area_code, "")
            subject = AlertSubject(
                key=key,
                area_code=area_code,
                zone_id=zone_id,
                district=info.district,
                name_ko=info.name_ko if zone_id is None else f"{info.name_ko} {zone_id}",
                name_en=info.name_en if zone_id is None else f"{info.name_en} {zone_id}",
            )
            ks = self._keys[key] = _KeyState(subject=subject, trackers={})
        return ks

    def _tracker(self, ks: _KeyState, rule: RuleKind, rules: RuleSet) -> LevelTracker | None:
        tracker = ks.trackers.get(rule)
        enabled = _enabled(rules, rule, ks.subject.area_code)
        if tracker is None:
            if not enabled:
                return None
            tracker = ks.trackers[rule] = LevelTracker(levels=_levels(rules, rule))
        else:
            # Overrides and profiles may change the candidate levels; the open level stays.
            tracker.levels = _levels(rules, rule)
        return tracker if enabled or tracker.level > Stage.NORMAL else None

    def _cover(self, ks: _KeyState, rule: RuleKind, rules: RuleSet) -> str | None:
        """Dedup key of the open alert of this key that covers `rule` (only the rate of
        rise is covered: by a stage, forecast or above-normal alert at or above its
        severity), or None."""
        if rule is not RuleKind.RATE_OF_RISE or not rules.rate_of_rise.fold_into_open:
            return None
        for other in _COVERING_RULES:
            tracker = ks.trackers.get(other)
            if tracker is not None and tracker.level >= rules.rate_of_rise.severity:
                if other in _JOINT and ks.joint is not None:
                    return ks.joint  # the row that carries it
                return dedup_key(ks.subject.key, other)
        return None

    def _joint_change(
        self, ks: _KeyState, rules: RuleSet, reading: Reading, now: datetime, warned: bool
    ) -> AlertDecision | None:
        """The one alert of the stage and forecast rules of this key: opened by the rule
        that rose first, raised when either rises past its level (the decision names the
        rule that did), lowered to the higher of the two, closed when both have cleared.
        The stage reaching the level the warning already holds is not news (경계 after a
        경계 warning); the warning of 심각 (`warned`: the forecast rule rose) always is:
        on an alert already at its stage it is an Escalate to the same stage, texted
        once, with the warning's words (`Reading.forecast_warning`)."""
        levels = {r: ks.trackers[r].level for r in _JOINT if r in ks.trackers}
        top = max(levels.values(), default=Stage.NORMAL)
        warning = replace(reading, forecast_warning=True)
        if top == ks.joint_level:
            if warned and ks.joint is not None and top < rules.forecast.target_stage:
                return Escalate(
                    dedup_key=ks.joint, rule=RuleKind.FORECAST, subject=ks.subject,
                    severity=top, previous=top, reading=warning, decided_at=now,
                    reason=_reason(RuleKind.FORECAST, rules, top, top, warning),
                )  # fmt: skip
            return None
        previous, carrier = ks.joint_level, ks.joint
        if top == Stage.NORMAL:  # both cleared: the row closes (named by its own rule)
            if carrier is None:
                return None
            ks.joint, ks.joint_level = None, Stage.NORMAL
            cause = RuleKind(carrier.rpartition(":")[2])
            return self._decision(ks, cause, rules, previous, top, reading, now, dedup=carrier)
        cause = next(r for r in _JOINT if levels.get(r) == top)  # stage first on a tie
        if warned and levels.get(RuleKind.FORECAST) == top:
            cause, reading = RuleKind.FORECAST, warning  # the warning's words
        if carrier is None:  # opens: the row is the rising rule's
            carrier = dedup_key(ks.subject.key, cause)
        ks.joint, ks.joint_level = carrier, top
        return self._decision(ks, cause, rules, previous, top, reading, now, dedup=carrier)

    def _decision(
        self,
        ks: _KeyState,
        rule: RuleKind,
        rules: RuleSet,
        previous: Stage,
        level: Stage,
        reading: Reading,
        now: datetime,
        reason: str | None = None,
        folded_into: str | None = None,
        dedup: str | None = None,
    ) -> AlertDecision:
        key = dedup or dedup_key(ks.subject.key, rule)
        why = reason or _reason(rule, rules, previous, level, reading)
        s = ks.subject
        if previous == Stage.NORMAL:
            return Fire(
                dedup_key=key, rule=rule, subject=s, severity=level, reading=reading,
                reason=why, decided_at=now, profile=rules.profile, extra_groups=rules.extra_groups,
            )  # fmt: skip
        if level == Stage.NORMAL:
            return Resolve(
                dedup_key=key, rule=rule, subject=s, severity=previous, reading=reading,
                reason=why, decided_at=now, folded_into=folded_into,
            )  # fmt: skip
        change = Escalate if level > previous else Deescalate
        return change(
            dedup_key=key, rule=rule, subject=s, severity=level, previous=previous,
            reading=reading, reason=why, decided_at=now,
        )  # fmt: skip

    def _muted(self, d: AlertDecision, now: datetime) -> AlertDecision:
        if not isinstance(d, Fire | Escalate | Deescalate):
            return d
        s = d.subject
        silence = matching_silence(self.silences, s.area_code, s.district, d.rule, d.severity, now)
        mute: Mute | None = None
        if silence is not None:
            mute = Mute("silence", silence.silence_id, f"{silence.created_by}: {silence.reason}")
        else:
            by = self._inhibitor(s.area_code, d.dedup_key, d.rule, d.severity)
            if by is not None:
                mute = Mute("inhibition", by, f"{by} is open at a higher stage")
        if mute is None:
            return d
        return _with_mute(d, mute)

    def _inhibitor(self, area_code: str, dedup: str, rule: RuleKind, level: Stage) -> str | None:
        if rule not in self.policy.inhibited_rules:
            return None
        best: tuple[Stage, str] | None = None
        for other, other_level in self.open_levels().items():
            if other == dedup or other_level < self.policy.inhibit_min_stage:
                continue
            other_key = other.rpartition(":")[0]
            if self._keys[other_key].subject.area_code != area_code or other_level <= level:
                continue
            if RuleKind(other.rpartition(":")[2]) in _FEED_RULES:
                continue
            if best is None or (other_level, other) > best:
                best = (other_level, other)
        return best[1] if best else None


def _with_mute(d: Fire | Escalate | Deescalate, mute: Mute) -> AlertDecision:
    return replace(d, muted=mute)


# The three below run for every rule of every state (bench/state_cpu.py): a branch per
# rule, not a dict of every rule's answer built to pick one.


def _enabled(rules: RuleSet, rule: RuleKind, area_code: str) -> bool:
    if rule is RuleKind.STAGE:
        return rules.stage.enabled
    if rule is RuleKind.RATE_OF_RISE:
        return rules.rate_of_rise.enabled
    if rule is RuleKind.FORECAST:
        return rules.forecast.enabled
    if rule is RuleKind.DATA_GAP:
        return rules.data_gap.watches(area_code)
    if rule is RuleKind.DATA_QUALITY:
        return rules.data_quality.enabled
    if rule is RuleKind.ABOVE_NORMAL:
        return rules.above_normal.enabled
    raise KeyError(rule)


def _levels(rules: RuleSet, rule: RuleKind) -> tuple[Stage, ...]:
    if rule is RuleKind.STAGE:
        return tuple(s for s in Stage if s >= rules.stage.min_stage)
    if rule is RuleKind.ABOVE_NORMAL:
        return rules.above_normal.levels
    if rule is RuleKind.RATE_OF_RISE:
        return (rules.rate_of_rise.severity,)
    if rule is RuleKind.FORECAST:
        return (rules.forecast.severity,)
    if rule is RuleKind.DATA_GAP:
        return (rules.data_gap.severity,)
    if rule is RuleKind.DATA_QUALITY:
        return (rules.data_quality.severity,)
    raise KeyError(rule)


def _holds(rules: RuleSet, rule: RuleKind) -> tuple[float, float]:
    if rule is RuleKind.STAGE:
        return rules.stage.hold_s, rules.stage.clear_hold_s
    if rule is RuleKind.RATE_OF_RISE:
        return rules.rate_of_rise.hold_s, rules.rate_of_rise.clear_hold_s
    if rule is RuleKind.FORECAST:
        return rules.forecast.hold_s, rules.forecast.clear_hold_s
    if rule is RuleKind.DATA_GAP:
        return rules.data_gap.hold_s, 0.0
    if rule is RuleKind.DATA_QUALITY:
        return rules.data_quality.hold_s, rules.data_quality.clear_hold_s
    if rule is RuleKind.ABOVE_NORMAL:
        return rules.above_normal.hold_s, rules.above_normal.clear_hold_s
    raise KeyError(rule)


def _quality_reason(state: AreaState) -> str:
    reasons = state.implausible or ("implausible density",)
    more = f" (+{len(reasons) - 2} more)" if len(reasons) > 2 else ""
    return "implausible input: " + "; ".join(reasons[:2]) + more


def _reason(rule: RuleKind, rules: RuleSet, previous: Stage, level: Stage, r: Reading) -> str:
    d = f"{r.density_per_m2:.1f}/m²"
    if rule is RuleKind.STAGE:
        return f"density {d}: {previous.label_en} -> {level.label_en}"
    if rule is RuleKind.ABOVE_NORMAL:
        if r.normal_people is None or r.normal_people <= 0:
            return f"{r.people:,.0f} people: {previous.label_en} -> {level.label_en}"
        return (
            f"{r.people:,.0f} people, {r.people / r.normal_people:.1f}x the usual "
            f"{r.normal_people:,.0f} for this hour: {previous.label_en} -> {level.label_en}"
        )
    if rule is RuleKind.RATE_OF_RISE:
        trend = "n/a" if r.trend_per_min is None else f"{r.trend_per_min:+.2f}/m²/min"
        return f"trend {trend} at {d}"
    if rule is RuleKind.FORECAST:
        if level == Stage.NORMAL:
            return f"{rules.forecast.target_stage.label_en} no longer forecast"
        return (
            f"{rules.forecast.target_stage.label_en} forecast in {r.forecast_horizon_min} min "
            f"({r.forecast_density_per_m2 or 0.0:.1f}/m²)"
        )
    if rule is RuleKind.DATA_QUALITY:
        return "inputs plausible again"  # raising carries the worker's reasons instead
    return "feed stale" if level > Stage.NORMAL else "feed back"
