"""Where CityPulse pushes its area and zone entities: the `broker` section of the root
settings (CITYPULSE_BROKER_*). Off unless a broker URL is set."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BrokerPushSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_BROKER_", extra="ignore")

    # Base URLs, e.g. http://orion:1026 (NGSI v2) and http://orion-ld:1026 (NGSI-LD:
    # Orion-LD, Scorpio, Stellio); empty: that flavour is not pushed.
    v2_url: str = ""
    ld_url: str = ""
    token: SecretStr | None = None  # sent as `Authorization: Bearer <token>`
    # Extra headers on every request (JSON), e.g. {"Fiware-Service": "incheon"} or
    # {"NGSILD-Tenant": "incheon"}.
    headers: dict[str, str] = Field(default_factory=dict)
    period_s: float = Field(default=5.0, gt=0)  # how often changed entities are pushed
    batch_size: int = Field(default=100, ge=1, le=1000)  # entities per request
    timeout_s: float = Field(default=5.0, gt=0)  # one request, connect to last byte
    backoff_base_s: float = Field(default=1.0, gt=0)  # after a failure, doubling per failure
    backoff_max_s: float = Field(default=60.0, gt=0)

    @field_validator("v2_url", "ld_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("a broker URL starts with http:// or https://")
        return url.rstrip("/")

    @property
    def enabled(self) -> bool:
        return bool(self.v2_url or self.ld_url)
