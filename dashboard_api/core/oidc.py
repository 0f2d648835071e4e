"""Sign-in through the city's identity provider: OpenID Connect's authorization-code
flow with PKCE, state and nonce (Authlib's protocol helpers), the ID token verified
against the provider's published keys (PyJWT: signature, iss, aud, exp, nonce).

The provider is found by discovery (`<issuer>/.well-known/openid-configuration`) on
first use and cached, as are its keys (fetched again once for a key id not seen, so a
key rotation at the provider needs no restart). No network call happens at import or
construction. What a sign-in proves is `claims[account_claim]`; which CityPulse account
that is, and whether it may sign in, is the route's business (api/routes/oidc.py).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from dashboard_api.core.config import ApiSettings

DISCOVERY_PATH = "/.well-known/openid-configuration"
METADATA_TTL_S = 3600.0  # the provider's endpoints and keys, re-read hourly
LEEWAY_S = 60  # clock skew tolerated between the provider and us (exp, iat)
# Asymmetric algorithms only: "none" and HS* (keyed with the client secret) are refused.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
MAX_RESPONSE_BYTES = 256 * 1024


class OidcError(Exception):
    """A sign-in through the provider that failed; `reason` is what the audit records."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Pending:
    """What one browser's sign-in must come back with: kept in a signed cookie."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> Pending:
        return cls(generate_token(32), generate_token(32), generate_token(64))


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    auth_methods: tuple[str, ...]


class OidcClient:
    """The relying party's side of the flow, for one provider and one client id."""

    def __init__(
        self,
        settings: ApiSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret
        self.client_secret = secret.get_secret_value() if secret else None
        self.scopes = settings.oidc_scopes
        self.timeout_s = settings.oidc_timeout_s
        self._transport, self._clock = transport, clock
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._keys: tuple[float, dict[str, jwt.PyJWK]] | None = None

    async def _get_json(self, url: str, **kwargs: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(transport=self._transport, timeout=self.timeout_s) as http:
            try:
                r = await http.request(kwargs.pop("method", "GET"), url, **kwargs)
            except httpx.HTTPError as exc:
                raise OidcError("idp error", type(exc).__name__) from None
        if len(r.content) > MAX_RESPONSE_BYTES:
            raise OidcError("idp error", f"{url}: response too large")
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise OidcError("idp error", f"{r.status_code} {str(error)[:40] if error else ''}")
        return body

    async def metadata(self) -> ProviderMetadata:
        if self._metadata and self._clock() - self._metadata[0] < METADATA_TTL_S:
            return self._metadata[1]
        doc = await self._get_json(self.issuer + DISCOVERY_PATH)
        # OIDC Discovery 4.3: the document must name the issuer it was fetched for.
        if doc.get("issuer") != self.issuer:
            raise OidcError("idp error", "discovery names another issuer")
        try:
            meta = ProviderMetadata(
                issuer=self.issuer,
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                auth_methods=tuple(
                    doc.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
                ),
            )
        except KeyError as missing:
            raise OidcError("idp error", f"discovery lacks {missing}") from None
        self._metadata = (self._clock(), meta)
        return meta

    async def authorization_url(self, redirect_uri: str, pending: Pending) -> str:
        """Where to send the browser: the provider's sign-in, bound to `pending`."""
        meta = await self.metadata()
        url: str = prepare_grant_uri(
            meta.authorization_endpoint,
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=self.scopes,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.code_verifier),
            code_challenge_method="S256",
        )
        return url

    async def sign_in(self, code: str, redirect_uri: str, pending: Pending) -> dict[str, Any]:
        """The verified ID token's claims for an authorization code; OidcError if not."""
        meta = await self.metadata()
        body = prepare_token_request(
            "authorization_code",
            redirect_uri=redirect_uri,
            code=code,
            code_verifier=pending.code_verifier,
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        auth: tuple[str, str] | None = None
        if self.client_secret is None:
            body += f"&client_id={quote(self.client_id, safe='')}"
        elif "client_secret_basic" in meta.auth_methods or not meta.auth_methods:
            # RFC 6749 2.3.1: both form-encoded before the Basic encoding.
            auth = (quote(self.client_id, safe=""), quote(self.client_secret, safe=""))
        else:
            body += f"&client_id={quote(self.client_id, safe='')}"
            body += f"&client_secret={quote(self.client_secret, safe='')}"
        tokens = await self._get_json(
            meta.token_endpoint, method="POST", content=body, headers=headers, auth=auth
        )
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("idp error", "no id_token in the token response")
        return await self.verify(id_token, pending.nonce)

    async def _key(self, kid: str | None, refresh: bool) -> jwt.PyJWK | None:
        if refresh or not self._keys or self._clock() - self._keys[0] >= METADATA_TTL_S:
            doc = await self._get_json((await self.metadata()).jwks_uri)
            try:
                keyset = jwt.PyJWKSet.from_dict(doc)
            except jwt.PyJWTError:
                raise OidcError("idp error", "unusable JWKS") from None
            keys = {
                str(k.key_id or ""): k for k in keyset.keys if k.public_key_use in (None, "sig")
            }
            self._keys = (self._clock(), keys)
        keys = self._keys[1]
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        return keys.get(kid or "")

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """Signature (the provider's keys), iss, aud (and azp), exp, iat, nonce."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise OidcError("bad token", "malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS or not isinstance(kid, str | None):
            raise OidcError("bad token", f"algorithm {str(alg)[:10]}")
        key = await self._key(kid, refresh=False) or await self._key(kid, refresh=True)
        if key is None:
            raise OidcError("bad signature", "no such key at the provider")
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=[alg],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
            )
        except jwt.InvalidSignatureError:
            raise OidcError("bad signature") from None
        except jwt.ExpiredSignatureError:
            raise OidcError("bad token", "expired") from None
        except jwt.InvalidAudienceError:
            raise OidcError("bad token", "audience") from None
        except jwt.InvalidIssuerError:
            raise OidcError("bad token", "issuer") from None
        except jwt.PyJWTError as exc:
            raise OidcError("bad token", type(exc).__name__) from None
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("bad token", "azp")  # OIDC Core 3.1.3.7 (4, 5)
        if not isinstance(claims["nonce"], str) or not hmac.compare_digest(claims["nonce"], nonce):
            raise OidcError("bad nonce")
        return claims
