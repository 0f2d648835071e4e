"""The alert path as a chain of small stages, the way Alertmanager's notify.go chains its
notification stages. `AlertPath` holds them; alerts/service.py wires database I/O around
it ([db] below). In order:

     1 evaluate          Evaluate         the rules: holds, hysteresis, rise, forecast, gaps
     2 startup grace     StartupGrace     no data-gap alerts while first states arrive
     3 feed outage       FeedOutages      many areas silent on one source: ONE feed alert
     4 silence/inhibit   SilenceInhibit   muted changes are recorded, not texted
     5 record       [db]                  lifecycle transition on the row locked FOR UPDATE
     6 group             Group            a FIRE now, or held for its district's window [db]
     7 fan out           fan_out          crowd tiers by subscription / technical on-call
     8 quiet hours       QuietHours       crowd below 심각 skips a recipient's quiet hours
     9 rate limit        RateLimit        per recipient and budget; worse news always goes
    10 render            render           ko/en text, SMS or LMS
    11 outbox       [db] queue_sms        outbox rows + audit, in the change's transaction

Stages 2-4 share one shape, `(changes, now) -> changes` (`decision_stages`); 8-10 share
`(addressed, now) -> addressed` (`delivery_stages`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from alerts.batching import NotificationBatcher
from alerts.lifecycle import Notification
from alerts.phone_ack.links import LinkMaker
from alerts.pipeline.decide import (
    Change,
    DecisionStage,
    Evaluate,
    SilenceInhibit,
    StartupGrace,
    run_stages,
)
from alerts.pipeline.deliver import Addressed, Group, QuietHours, RateLimit, Render, fan_out
from alerts.pipeline.feeds import FeedOutages
from alerts.recipients import MessageRateLimiter, RecipientDirectory
from alerts.rules import AlertEngine, AreaInfo, OpenAlert
from alerts.settings import AlertSettings
from citypulse.domain.area_state import AreaState
from citypulse.domain.thresholds import ThresholdBook

__all__ = ["Addressed", "AlertPath", "Change", "build_alert_path"]

STAGE_NAMES = (
    "evaluate", "startup grace", "feed outage", "silence/inhibit", "record", "group",
    "fan out", "quiet hours", "rate limit", "render", "outbox",
)  # fmt: skip


class AlertPath:
    def __init__(
        self,
        engine: AlertEngine,
        batcher: NotificationBatcher,
        limiter: MessageRateLimiter,
        *,
        startup_grace_s: float = 0.0,
        feed_min_areas: int = 5,
        feed_window_s: float = 120.0,
        links: LinkMaker | None = None,
    ) -> None:
        self.engine = engine
        self.evaluate = Evaluate(engine)
        self.grace = StartupGrace(startup_grace_s, engine.release)
        self.feeds = FeedOutages(
            feed_min_areas, feed_window_s, settle_s=startup_grace_s + feed_window_s,
            release=engine.release,
        )  # fmt: skip
        self.decision_stages: Sequence[DecisionStage] = (
            self.grace,
            self.feeds,
            SilenceInhibit(engine),
        )
        self.group = Group(batcher)
        self.rate_limit = RateLimit(limiter)
        self.render = Render(links)
        self.delivery_stages = (QuietHours(), self.rate_limit, self.render)

    def start(self, open_alerts: Iterable[OpenAlert], now: datetime) -> None:
        self.grace.start(now)
        self.feeds.restore(open_alerts, now)

    def on_state(self, state: AreaState, now: datetime) -> list[Change]:
        self.feeds.observe(state)
        return run_stages(self.decision_stages, self.evaluate.state(state, now), now)

    def on_sweep(self, now: datetime) -> list[Change]:
        return run_stages(self.decision_stages, self.evaluate.sweep(now), now)

    def rolled_back(self, d: Change) -> None:
        self.feeds.rolled_back(d)

    def release(self, dedup: str) -> None:
        """An operator resolved it by hand: the rules may fire again after a fresh hold."""
        self.engine.release(dedup)
        self.feeds.released(dedup)

    def deliver(
        self, batch: Sequence[Notification], directory: RecipientDirectory, now: datetime
    ) -> list[Addressed]:
        addressed = fan_out(batch, directory)
        for stage in self.delivery_stages:
            addressed = stage(addressed, now)
        return addressed


def build_alert_path(
    settings: AlertSettings,
    areas: Mapping[str, AreaInfo],
    book: ThresholdBook | None = None,
    links: LinkMaker | None = None,
) -> AlertPath:
    """The path a deployment runs: AlertService builds its own with this, and so does
    bench/alert_quality.py, so the bench measures the rules and settings the worker uses."""
    engine = AlertEngine(settings.policy(book), areas)
    return AlertPath(
        engine,
        NotificationBatcher(settings.group_window_s, settings.group_max_batch),
        settings.rate_limiter(),
        startup_grace_s=settings.startup_grace_s,
        feed_min_areas=settings.feed_outage_min_areas,
        feed_window_s=settings.feed_outage_window_s,
        links=links,
    )
