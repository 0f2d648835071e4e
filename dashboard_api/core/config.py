"""Settings of the API process (CITYPULSE_* variables, on top of the stack's)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr, model_validator

from citypulse.config import StackSettings

# Development defaults: refused outside development and tests (see the validator).
DEV_JWT_SECRET = "citypulse-dev-jwt-secret-change-me"  # noqa: S105
DEV_ADMIN_PASSWORD = "admin-dev-password"  # noqa: S105
DEV_OPERATOR_PASSWORD = "operator-dev-password"  # noqa: S105


class ApiSettings(StackSettings):
    # Workers beat every 5 s: stale after about two missed beats, so /health (cached
    # health_cache_s) reports a dead worker within 10 s.
    worker_stale_after_s: float = 9.0
    ws_heartbeat_s: float = 15.0
    ws_auth_timeout_s: float = 5.0  # a connection opened with auth=1 signs in this fast
    ws_max_message_bytes: int = 4096  # a client frame larger than this closes with 1009
    ws_min_frame_interval_s: float = 0.1  # per client: states gather between frames
    ws_frames_per_s: float = 10_000.0  # frames per second one API process aims to send
    health_cache_s: float = 0.5
    db_connect_timeout_s: int = 2  # libpq's minimum; an unreachable database fails fast
    db_pool_timeout_s: float = 3.0  # waiting longer for a connection answers 503
    feed_stale_after_s: float = 900.0  # a state older than this is a silent feed
    alert_poll_s: float = 1.0  # how often the operator stream looks for alert changes

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_ttl_s: int = 8 * 3600  # one control-room shift
    admin_username: str = "admin"
    admin_password: SecretStr = SecretStr(DEV_ADMIN_PASSWORD)
    operator_username: str = "operator"
    operator_password: SecretStr = SecretStr(DEV_OPERATOR_PASSWORD)

    cors_origins: tuple[str, ...] = ("http://127.0.0.1:8000", "http://localhost:8000")
    rate_limit_per_s: float = 20.0  # anonymous requests per client IP, sustained
    rate_limit_burst: int = 60
    # The dashboard's base map: an XYZ raster tile URL ({z}/{x}/{y}), e.g. VWorld's or an
    # OSM-compatible server, with its attribution. Empty: the offline layer only.
    map_tile_url: str = ""
    map_tile_attribution: str = ""

    @model_validator(mode="after")
    def _no_dev_secrets_outside_development(self) -> ApiSettings:
        if self.env == "production":
            for name, value, default in (
                ("CITYPULSE_JWT_SECRET", self.jwt_secret, DEV_JWT_SECRET),
                ("CITYPULSE_ADMIN_PASSWORD", self.admin_password, DEV_ADMIN_PASSWORD),
                ("CITYPULSE_OPERATOR_PASSWORD", self.operator_password, DEV_OPERATOR_PASSWORD),
            ):
                if value.get_secret_value() == default:
                    raise ValueError(f"{name} must be set in production")
            if len(self.jwt_secret.get_secret_value()) < 32:
                raise ValueError("CITYPULSE_JWT_SECRET must be at least 32 characters")
        return self


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    return ApiSettings()
