"""Alert service settings (CITYPULSE_ALERT_* variables) and the SMS dispatcher's retry
policy (CITYPULSE_DISPATCH_*), sections of the root settings (citypulse/settings.py).

The rule defaults live in alerts.rules.config; these settings only expose what an
operator tunes per deployment (hold times, grouping window, reminder cadence, limits,
timer periods).
"""

from __future__ import annotations

import random
from dataclasses import replace

from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.lifecycle import EscalationPolicy
from alerts.recipients import MessageRateLimiter
from alerts.rules import (
    AlertEventDay,
    AlertPolicy,
    DataGapRule,
    RuleOverride,
    RuleSet,
    StageRule,
)
from alerts.rules.above_normal import EXPECTED_RATIOS
from citypulse.domain.thresholds import EventDayProfile, ThresholdBook


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_ALERT_", extra="ignore")

    stage_hold_s: float = StageRule.hold_s
    # 30 min rather than the rule's 5: a narrow alley's evening crowd hovering at its
    # 주의 bound (1.5/m²) otherwise closes and reopens within the hour; 15 min was not
    # enough either (tests/unit/alerts/test_alerts_scenario_replay.py).
    stage_clear_hold_s: float = 1800.0
    data_gap_silent_s: float = DataGapRule.silent_after_s
    group_window_s: float = 120.0
    group_max_batch: int = 8
    reminder_s: float = 300.0
    tier_timeout_s: float = 600.0
    max_reminders: int = 12
    rate_limit_messages: int = 10
    rate_limit_window_s: float = 3600.0
    # -- quiet when nothing is wrong (alerts/pipeline) --
    startup_grace_s: float = 360.0  # no data-gap alerts while first states arrive: the
    # telecom cadence (5 min) and a minute, so a feed first heard on its next mark is not silent
    feed_outage_min_areas: int = 5  # silent on one source within the window: one alert
    feed_outage_window_s: float = 120.0
    # --
    # Timer periods of the worker (alerts/agents.py).
    sweep_s: float = 30.0  # data gaps of feeds that stopped entirely
    tick_s: float = 10.0  # reminders, tier chain, unmute
    flush_s: float = 1.0  # grouped notifications whose window passed
    sync_s: float = 2.0  # operator resolutions, silences, recipients
    # The alert agent never evaluates area states older than this on taking a partition
    # (alerts/state_feed.py): replayed from long ago, they would fire an episode that is over.
    replay_max_s: float = 600.0

    def policy(self, book: ThresholdBook | None = None) -> AlertPolicy:
        """Defaults with this deployment's holds, and the operator thresholds of `book`
        (per area, per zone, event days: citypulse/domain/threshold_reader.py), so the alert rules
        use the same bounds as the stage the stream worker publishes."""
        book = book if book is not None else ThresholdBook()
        defaults = RuleSet()
        defaults = replace(
            defaults,
            stage=replace(
                defaults.stage,
                thresholds=book.default,
                hold_s=self.stage_hold_s,
                clear_hold_s=self.stage_clear_hold_s,
            ),
            data_gap=replace(defaults.data_gap, silent_after_s=self.data_gap_silent_s),
        )
        keyed = {
            **book.per_area,
            **{f"{area}/{zone}": t for (area, zone), t in book.per_zone.items()},
        }
        overrides = [
            RuleOverride(key, stage=replace(defaults.stage, thresholds=t))
            for key, t in keyed.items()
        ]
        profiles = [_event_day(p, defaults) for p in book.events]
        return AlertPolicy.build(defaults=defaults, overrides=overrides, profiles=profiles)

    def escalation(self) -> EscalationPolicy:
        return EscalationPolicy(
            reminder_s=self.reminder_s,
            tier_timeout_s=self.tier_timeout_s,
            max_reminders=self.max_reminders,
        )

    def rate_limiter(self) -> MessageRateLimiter:
        return MessageRateLimiter(self.rate_limit_messages, self.rate_limit_window_s)


def _event_day(p: EventDayProfile, defaults: RuleSet) -> AlertEventDay:
    """An event day as the alert rules apply it: with a declared expected crowd, the
    above-normal rule measures against it (EXPECTED_RATIOS over it)."""
    if p.expected_people is None:
        return AlertEventDay(p)
    rule = replace(defaults.above_normal, expected_people=p.expected_people, ratios=EXPECTED_RATIOS)
    return AlertEventDay(p, above_normal=rule)


class RetryPolicy(BaseSettings):
    """CITYPULSE_DISPATCH_* variables; the defaults suit a control room."""

    model_config = SettingsConfigDict(env_prefix="CITYPULSE_DISPATCH_", extra="ignore")

    max_attempts: int = 8  # a final refusal ends a message at once; retryable ones see below
    give_up_after_s: float = 3600.0  # retryable failures end as 'failed' only after this
    base_s: float = 1.0
    max_s: float = 30.0  # an alert must not wait minutes once the gateway is back
    lease_s: float = 30.0  # a claimed row waits this long before another dispatcher takes it
    uncertain_grace_s: float = 60.0  # handed over, no answer: wait this long for a report
    batch_size: int = 50

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter, so a gateway coming back is not stampeded."""
        return rng.uniform(0, min(self.max_s, self.base_s * 2 ** max(0, attempt - 1)))

    def gives_up(self, attempts: int, age_s: float) -> bool:
        return attempts >= self.max_attempts and age_s >= self.give_up_after_s
