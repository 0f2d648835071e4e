"""The one root settings object: a section per service, each read from the environment
variables it always had (CITYPULSE_*, CITYPULSE_ALERT_*, CITYPULSE_SMS_*, ...).

Each entry point (the worker's streams/app.py, dashboard_api/main.py, the CLI with the
dispatcher, `python -m infra.kannel`) calls `Settings.from_env()` once and passes the
sections down; nothing else reads the environment. This module sits on the top floor
beside the CLI: it gathers the section classes from every package, so only entry points
import it (tests/unit/test_import_graph.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, SecretStr, model_validator
from pydantic_settings import BaseSettings

from alerts.phone_ack.replies import mo_route_key
from alerts.providers.settings import DEV_SECRETS as SMS_DEV_SECRETS
from alerts.providers.settings import SmsSettings
from alerts.settings import AlertSettings, RetryPolicy
from alerts.watchdog.settings import WatchdogSettings
from citypulse.config import StackSettings
from dashboard_api.api.phone_ack import mo_callback_url
from dashboard_api.core.config import DEV_SECRETS as API_DEV_SECRETS
from dashboard_api.core.config import ApiSettings
from dashboard_api.opendata.broker_settings import BrokerPushSettings
from infra.kannel.settings import DEV_SECRETS as KANNEL_DEV_SECRETS
from infra.kannel.settings import KannelGatewaySettings
from sensors.poller import SeoulPollerSettings
from streams.settings import WorkerSettings


class Settings(BaseModel):
    stack: StackSettings
    worker: WorkerSettings
    alerts: AlertSettings
    sms: SmsSettings
    dispatch: RetryPolicy
    api: ApiSettings
    broker: BrokerPushSettings
    kannel: KannelGatewaySettings
    poller: SeoulPollerSettings
    watchdog: WatchdogSettings

    @classmethod
    def from_env(cls) -> Settings:
        return cls.model_validate({name: section() for name, section in SECTIONS.items()})

    @model_validator(mode="after")
    def _kannel_calls_the_api(self) -> Settings:
        """Kannel's incoming-SMS URL, unless set: the API where delivery reports go, with
        the key the API derives from the acknowledgement secret."""
        if not self.kannel.mo_url.get_secret_value():
            parts = urlsplit(self.sms.dlr_callback_url)
            key = mo_route_key(self.sms.ack_secret.get_secret_value())
            url = mo_callback_url(f"{parts.scheme}://{parts.netloc}", key)
            self.kannel.mo_url = SecretStr(url)
        return self

    @model_validator(mode="after")
    def _no_dev_secret_in_production(self) -> Settings:
        """With CITYPULSE_ENV=production every development secret is refused at start
        (the stack section refuses its own database password)."""
        if self.stack.env != "production":
            return self
        for section, secrets in (
            ("api", API_DEV_SECRETS),
            ("kannel", KANNEL_DEV_SECRETS),
            ("sms", SMS_DEV_SECRETS),
        ):
            for field, default in secrets.items():
                value: SecretStr = getattr(getattr(self, section), field)
                if value.get_secret_value() == default:
                    raise ValueError(f"{env_name(section, field)} must be set in production")
        if len(self.api.jwt_secret.get_secret_value()) < 32:
            raise ValueError("CITYPULSE_JWT_SECRET must be at least 32 characters")
        if len(self.sms.dlr_secret.get_secret_value()) < 32:
            raise ValueError("CITYPULSE_SMS_DLR_SECRET must be at least 32 characters")
        if len(self.sms.ack_secret.get_secret_value()) < 32:
            raise ValueError("CITYPULSE_SMS_ACK_SECRET must be at least 32 characters")
        return self


SECTIONS: dict[str, type[BaseSettings]] = {
    name: field.annotation  # type: ignore[misc]
    for name, field in Settings.model_fields.items()
}


def env_name(section: str, field: str) -> str:
    """The environment variable a section's field is read from."""
    cls = SECTIONS[section]
    alias = cls.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        alias = alias.choices[0]
    if isinstance(alias, str):
        return alias
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()
