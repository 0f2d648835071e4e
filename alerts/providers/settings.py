"""Which SMS provider the dispatcher uses, read once from CITYPULSE_SMS_* variables."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.providers.base import ReportSink, SmsProvider
from alerts.providers.kannel import KannelConfig, KannelProvider
from alerts.providers.log_provider import LogProvider
from alerts.providers.smpp import SmppConfig, SmppProvider

DEV_DLR_SECRET = "citypulse-dev-dlr-secret-change-me"  # noqa: S105 - refused in production


class SmsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_SMS_", extra="ignore")

    provider: Literal["log", "kannel", "smpp"] = "log"
    sender: str | None = None  # our registered call-back number

    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_username: str = "citypulse"
    kannel_password: SecretStr = SecretStr("citypulse-dev")
    dlr_callback_url: str = "http://127.0.0.1:8000/sms/dlr/kannel"
    dlr_secret: SecretStr = SecretStr(DEV_DLR_SECRET)  # same value for dispatcher and API
    dlr_allowed_sources: tuple[str, ...] = ()  # Kannel hosts/networks; empty: any (signed)
    dlr_rate_per_s: float = 500.0  # delivery reports per client address, sustained
    dlr_burst: int = 5000  # a 1,000-message burst brings two reports each

    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    smpp_system_id: str = "citypulse"
    smpp_password: SecretStr = SecretStr("")
    smpp_system_type: str = ""
    smpp_enquire_link_s: float = 30.0

    @model_validator(mode="after")
    def _no_dev_dlr_secret_in_production(self) -> SmsSettings:
        if os.environ.get("CITYPULSE_ENV") == "production" and (
            len(self.dlr_secret.get_secret_value()) < 32
            or self.dlr_secret.get_secret_value() == DEV_DLR_SECRET
        ):
            raise ValueError("CITYPULSE_SMS_DLR_SECRET must be set (32+ characters) in production")
        return self


def build_provider(settings: SmsSettings, on_report: ReportSink) -> SmsProvider:
    """The configured provider. Kannel's reports arrive on the API's DLR route, so for
    Kannel `on_report` must also be given to build_kannel_dlr_router."""
    if settings.provider == "kannel":
        return KannelProvider(
            KannelConfig(
                sendsms_url=settings.kannel_sendsms_url,
                username=settings.kannel_username,
                password=settings.kannel_password,
                dlr_callback_url=settings.dlr_callback_url,
                dlr_secret=settings.dlr_secret,
                sender=settings.sender,
            )
        )
    if settings.provider == "smpp":
        return SmppProvider(
            SmppConfig(
                host=settings.smpp_host,
                port=settings.smpp_port,
                system_id=settings.smpp_system_id,
                password=settings.smpp_password,
                system_type=settings.smpp_system_type,
                source_addr=settings.sender or "",
                enquire_link_interval_s=settings.smpp_enquire_link_s,
            ),
            on_report,
        )
    return LogProvider(on_report)
