"""Settings of the stream worker (CITYPULSE_* variables). Where Kafka and the database
are is the stack's section (citypulse/config.py), not this one."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_", extra="ignore")

    # /metrics of worker-N is served on this port + N - 1, so workers on one machine do
    # not collide (streams/metrics.py); 0 turns it off.
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    # The most records a fetch hands to one batch. At a steady rate a batch is what arrived
    # while the previous one was handled, far fewer; the bound matters on a backlog, where
    # each batch's fixed database costs (the COPY, the 1-minute upserts, the commit) are
    # shared by all its records: one worker drained 72,000 events/s at 5,000 and 97,000
    # at 20,000, for about 100 MB more memory (bench/ingest.py, docs/benchmarks.md).
    batch_max_events: int = 20_000
    batch_within_s: float = 0.25
    state_refresh_s: float = 5.0  # live estimate republished at least this often
    heartbeat_s: float = 5.0
    rollup_refresh_s: float = 15.0
    allowed_lateness_s: float = 600.0
    max_event_age_s: float = 7 * 24 * 3600.0  # older events are dead-lettered as too_old
    # A killed worker keeps its partitions until the broker gives up on it: a short
    # session hands them to a restarted or surviving worker sooner (the broker's
    # group.min.session.timeout.ms, 6 s by default, is the floor).
    session_timeout_s: float = 20.0
    group_heartbeat_s: float = 2.0
    consumer_max_fetch_bytes: int = 4 * 1024 * 1024  # per partition and fetch
    # Changed states are sent at most this often per key, but for keys above normal, sent
    # after each batch that changes them (StatePipeline.publish_elevated). A tick comes
    # after the first batch folded this long after the last tick, or with no batch, one
    # batch window later (StatePipeline.publish_if_due).
    state_publish_s: float = Field(default=0.5, gt=0)
    # Operator thresholds and event days are re-read this often
    # (citypulse/domain/threshold_reader.py).
    thresholds_reload_s: float = 15.0
    # A newer calibration (`citypulse calibrate`, or another worker's refit) is looked for
    # this often; the worker refits itself when the newest is older than the refit period.
    calibration_check_s: float = Field(default=60.0, gt=0)
    calibration_refit_s: float = Field(default=86_400.0, gt=0)
    # Retention (streams/retention.py, docs/operations.md): raw readings as TimescaleDB's
    # policy keeps them; the 1-minute stats 13 months, so last year's same event day is
    # there at minute resolution; the 15-minute, hourly and daily rollups for good.
    retention_raw_days: int = Field(default=90, ge=1)
    retention_stats_1m_days: int = Field(default=400, ge=1)
    retention_check_s: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _rollups_outlive_late_events(self) -> Self:
        """A late event recomputes its day's rollups from the 1-minute stats: those must
        still hold that whole day, or the recomputed rollup would shrink."""
        if self.retention_stats_1m_days * 86_400 < self.max_event_age_s + 2 * 86_400:
            raise ValueError(
                "CITYPULSE_RETENTION_STATS_1M_DAYS must cover CITYPULSE_MAX_EVENT_AGE_S "
                "plus two days"
            )
        return self
