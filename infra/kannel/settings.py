"""Kannel gateway settings (CITYPULSE_KANNEL_* variables), a section of the root settings."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SENDSMS_PASSWORD = "citypulse-dev"  # noqa: S105 - development default, refused in production
DEV_ADMIN_PASSWORD = "kannel-admin-dev"  # noqa: S105 - development default
DEV_SECRETS = {"sendsms_password": DEV_SENDSMS_PASSWORD, "admin_password": DEV_ADMIN_PASSWORD}


class KannelGatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_KANNEL_", extra="ignore")

    host: str = "127.0.0.1"
    admin_port: int = 13000
    smsbox_port: int = 13001
    sendsms_port: int = 13013
    admin_password: SecretStr = SecretStr(DEV_ADMIN_PASSWORD)
    sendsms_username: str = "citypulse"
    sendsms_password: SecretStr = SecretStr(DEV_SENDSMS_PASSWORD)
    default_sender: str = "0215880000"  # our registered call-back number

    # The SMSC Kannel binds to. The default is the local carrier stand-in.
    carrier_standin: bool = True
    smsc_host: str = "127.0.0.1"
    smsc_port: int = 13014
    smsc_username: str = Field(default="citypulse", max_length=15)  # SMPP system_id
    smsc_password: SecretStr = SecretStr("standin")  # SMPP allows 8 characters at most
    # The URL smsbox calls with each incoming SMS (a reply "1" acknowledges an alert), its
    # key included; empty: the root settings derive it from CITYPULSE_SMS_* (the API's
    # address and the acknowledgement secret). Kannel's escape codes are added to it.
    mo_url: SecretStr = SecretStr("")
    verbosity: int = Field(default=1, ge=0, le=4)  # Kannel log level: 0 debug .. 4 panic

    @model_validator(mode="after")
    def _checks(self) -> KannelGatewaySettings:
        if len(self.smsc_password.get_secret_value()) > 8:
            raise ValueError("CITYPULSE_KANNEL_SMSC_PASSWORD: SMPP passwords have 8 characters")
        return self

    @property
    def sendsms_url(self) -> str:
        return f"http://{self.host}:{self.sendsms_port}/cgi-bin/sendsms"
