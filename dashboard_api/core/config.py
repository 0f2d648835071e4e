"""Settings of the API process (CITYPULSE_* variables). Where Kafka and the database are
is the stack's section (citypulse/config.py); dashboard_api/main.py reads both once."""

from __future__ import annotations

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import HTTPConnection

# Development defaults: refused in production (citypulse/settings.py).
DEV_JWT_SECRET = "citypulse-dev-jwt-secret-change-me"  # noqa: S105
DEV_ADMIN_PASSWORD = "admin-dev-password"  # noqa: S105
DEV_OPERATOR_PASSWORD = "operator-dev-password"  # noqa: S105
DEV_SECRETS = {
    "jwt_secret": DEV_JWT_SECRET,
    "admin_password": DEV_ADMIN_PASSWORD,
    "operator_password": DEV_OPERATOR_PASSWORD,
}


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_", extra="ignore")

    # Workers beat every 5 s: stale after about two missed beats, so /health (cached
    # health_cache_s) reports a dead worker within 10 s.
    worker_stale_after_s: float = 9.0
    ws_heartbeat_s: float = 15.0
    ws_auth_timeout_s: float = 5.0  # a connection opened with auth=1 signs in this fast
    ws_max_message_bytes: int = 4096  # a client frame larger than this closes with 1009
    ws_min_frame_interval_s: float = 0.1  # per client: states gather between frames
    ws_frames_per_s: float = 20_000.0  # frames per second one API process aims to send
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
    # Signed-in staff get their own, larger bucket per user (a valid token is checked
    # before it counts), so a crowd of public viewers cannot lock the control room out.
    staff_rate_limit_per_s: float = 50.0
    staff_rate_limit_burst: int = 300
    # Reverse proxies (addresses or networks) whose X-Forwarded-For is believed; from any
    # other peer the header is ignored. Run uvicorn with --no-proxy-headers.
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 2_097_152  # a larger request body is refused 413 before parsing
    # Sign-in: wrong passwords in a row per account before backoff, backoff base, lock.
    login_free_failures: int = 3
    login_backoff_base_s: float = 1.0
    login_backoff_cap_s: float = 60.0
    login_lock_after: int = 9  # the 10th attempt after 9 wrong in a row is refused
    login_lock_s: float = 900.0
    login_address_lock_after: int = 30  # per client address, over any usernames
    # The dashboard's base map: an XYZ raster tile URL ({z}/{x}/{y}), e.g. VWorld's or an
    # OSM-compatible server, with its attribution. Empty: the offline layer only.
    map_tile_url: str = ""
    map_tile_attribution: str = ""

    # FIWARE brokers' notifications (/api/v1/ngsi/notify/*) carry this bearer token (an
    # Orion `httpCustom` / NGSI-LD `receiverInfo` header); unset refuses every notification.
    ngsi_notify_token: SecretStr | None = None
    ngsi_max_body_bytes: int = 1_048_576
    export_rate_per_s: float = 0.2  # history exports per client: one every 5 s sustained
    export_burst: int = 10

    # Sign-in through the city's identity provider (OpenID Connect, docs/security.md):
    # off while the issuer is empty. Accounts are linked by an admin, never created here.
    oidc_issuer: str = ""  # e.g. https://sso.seoul.go.kr/realms/staff (discovery below it)
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None  # None: a public client (PKCE only)
    oidc_scopes: str = "openid email profile"
    oidc_account_claim: str = "sub"  # the ID-token claim an account is linked by
    oidc_button_label: str = ""  # empty: "기관 계정으로 로그인 / Sign in with ..."
    # The callback URL registered at the IdP; empty: this server's own address.
    oidc_redirect_url: str = ""
    oidc_timeout_s: float = 5.0  # one call to the IdP (discovery, keys, token)

    @field_validator("oidc_issuer", "oidc_redirect_url")
    @classmethod
    def _https_url(cls, url: str) -> str:
        local = url.startswith(("http://localhost", "http://127.0.0.1"))
        if url and not (url.startswith("https://") or local):
            raise ValueError("an OIDC URL starts with https:// (http:// only for localhost)")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _oidc_complete(self) -> ApiSettings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("CITYPULSE_OIDC_CLIENT_ID is required with CITYPULSE_OIDC_ISSUER")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("CITYPULSE_OIDC_SCOPES must include openid")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)


def get_api_settings(conn: HTTPConnection) -> ApiSettings:
    """The settings `create_app` was given (a dependency of HTTP and websocket routes)."""
    settings: ApiSettings = conn.app.state.api_settings
    return settings
