"""Which SMS provider the dispatcher uses (CITYPULSE_SMS_* variables) and its config."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.phone_ack.links import LinkMaker
from alerts.providers.base import ReportSink, SmsProvider
from alerts.providers.kannel import KannelConfig, KannelProvider
from alerts.providers.log_provider import LogProvider
from alerts.providers.smpp import SmppConfig, SmppProvider

DEV_DLR_SECRET = "citypulse-dev-dlr-secret-change-me"  # noqa: S105 - refused in production
DEV_ACK_SECRET = "citypulse-dev-ack-secret-change-me"  # noqa: S105 - refused in production
DEV_SECRETS = {  # field -> development default
    "dlr_secret": DEV_DLR_SECRET,
    "ack_secret": DEV_ACK_SECRET,
}


class SmsSettings(BaseSettings):
    """The provider's settings, named after the provider config they fill: the fields
    `kannel_<x>` make KannelConfig's `<x>`, the fields `smpp_<x>` SmppConfig's `<x>`."""

    model_config = SettingsConfigDict(
        env_prefix="CITYPULSE_SMS_", extra="ignore", populate_by_name=True
    )

    provider: Literal["log", "kannel", "smpp"] = "log"
    sender: str | None = None  # our registered call-back number

    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    # A second Kannel (HA mode: the other site's): takes what the first surely did not.
    kannel_fallback_sendsms_url: str = ""
    kannel_username: str = "citypulse"
    kannel_password: SecretStr = SecretStr("citypulse-dev")
    dlr_callback_url: str = "http://127.0.0.1:8000/sms/dlr/kannel"
    dlr_secret: SecretStr = SecretStr(DEV_DLR_SECRET)  # same value for dispatcher and API
    dlr_allowed_sources: tuple[str, ...] = ()  # Kannel hosts/networks; empty: any (signed)
    dlr_rate_per_s: float = 500.0  # delivery reports per client address, sustained
    dlr_burst: int = 5000  # a 1,000-message burst brings two reports each

    # Acknowledging from the phone (alerts/phone_ack): the signed link each alert SMS
    # carries (worker and API share the secret), and replies through Kannel's MO route.
    ack_secret: SecretStr = SecretStr(DEV_ACK_SECRET)
    ack_link_base_url: str = "http://127.0.0.1:8000"  # the API as phones reach it; "": no link
    ack_link_ttl_s: float = 24 * 3600.0
    ack_reply_window_s: float = 6 * 3600.0  # a reply "1" acknowledges an alert texted this recently

    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    smpp_system_id: str = "citypulse"
    smpp_password: SecretStr = SecretStr("")
    smpp_system_type: str = ""
    smpp_enquire_link_interval_s: float = Field(
        default=30.0, validation_alias=AliasChoices("CITYPULSE_SMS_SMPP_ENQUIRE_LINK_S")
    )

    def _config_fields(self, prefix: str) -> dict[str, Any]:
        return {
            name.removeprefix(prefix): getattr(self, name)
            for name in type(self).model_fields
            if name.startswith(prefix)
        }

    def kannel_config(self) -> KannelConfig:
        return KannelConfig(
            **self._config_fields("kannel_"),
            dlr_callback_url=self.dlr_callback_url,
            dlr_secret=self.dlr_secret,
            sender=self.sender,
        )

    def ack_links(self) -> LinkMaker | None:
        """What signs the link in each alert SMS; None when no base URL is set."""
        if not self.ack_link_base_url:
            return None
        return LinkMaker(
            self.ack_secret.get_secret_value(), self.ack_link_base_url, self.ack_link_ttl_s
        )

    def smpp_config(self) -> SmppConfig:
        return SmppConfig(**self._config_fields("smpp_"), source_addr=self.sender or "")


def build_provider(settings: SmsSettings, on_report: ReportSink) -> SmsProvider:
    """The configured provider. Kannel's reports arrive on the API's DLR route, so for
    Kannel `on_report` must also be given to build_kannel_dlr_router."""
    if settings.provider == "kannel":
        return KannelProvider(settings.kannel_config())
    if settings.provider == "smpp":
        return SmppProvider(settings.smpp_config(), on_report)
    return LogProvider(on_report)
