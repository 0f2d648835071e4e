"""CITYPULSE_WATCHDOG_* settings: what the watchdog watches, how long is too long, whom
it texts. The SMS gateway is the dispatcher's (CITYPULSE_SMS_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.providers.base import is_e164


class WatchdogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_WATCHDOG_", extra="ignore")

    # The technical on-call group: comma-separated E.164 numbers. Empty: log only.
    oncall: str = ""
    stale_s: float = Field(default=60.0, gt=0)  # stopped this long -> an outage
    # Per check; unset takes stale_s, 0 turns the check off.
    worker_stale_s: float | None = Field(default=None, ge=0)
    dispatcher_stale_s: float | None = Field(default=None, ge=0)
    feed_stale_s: float | None = Field(default=None, ge=0)
    database_stale_s: float | None = Field(default=None, ge=0)
    interval_s: float = Field(default=5.0, gt=0)  # one look at everything this often
    probe_timeout_s: float = Field(default=3.0, gt=0)
    state_file: Path | None = None  # default: <var>/run/watchdog.json

    @field_validator("oncall")
    @classmethod
    def _numbers(cls, value: str) -> str:
        bad = [n for n in _split(value) if not is_e164(n)]
        if bad:
            raise ValueError(f"CITYPULSE_WATCHDOG_ONCALL: {len(bad)} number(s) not in E.164")
        return value

    @property
    def numbers(self) -> list[str]:
        return _split(self.oncall)

    def thresholds(self) -> dict[str, float]:
        own = {
            "worker": self.worker_stale_s, "dispatcher": self.dispatcher_stale_s,
            "feed": self.feed_stale_s, "database": self.database_stale_s,
        }  # fmt: skip
        return {k: self.stale_s if v is None else v for k, v in own.items()}


def _split(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]
