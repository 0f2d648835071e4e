"""An OpenID provider in process for the sign-in tests: discovery, its signing keys
(JWKS) and a token endpoint that holds PKCE, single-use codes and client
authentication to the rules, served through httpx.MockTransport (no network)."""

from __future__ import annotations

import base64
import functools
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://idp.test/realms/seoul"
CLIENT_ID, CLIENT_SECRET = "citypulse", "a-client-secret-for-the-tests-of-32+"


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


shared_key = functools.cache(_private_key)  # one key for the whole run: 2048-bit RSA is slow


@dataclass
class Grant:
    challenge: str
    nonce: str
    redirect_uri: str
    claims: dict[str, Any]
    sign_with: rsa.RSAPrivateKey | None = None


@dataclass
class FakeProvider:
    issuer: str = ISSUER
    key: rsa.RSAPrivateKey = field(default_factory=shared_key)
    kid: str = "key-1"
    grants: dict[str, Grant] = field(default_factory=dict)
    token_calls: int = 0
    discovery_calls: int = 0
    jwks_calls: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, issuer = request.url.path, self.issuer
        root = httpx.URL(issuer).path
        if path == f"{root}/.well-known/openid-configuration":
            self.discovery_calls += 1
            return httpx.Response(200, json={
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/auth",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/certs",
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            })  # fmt: skip
        if path == f"{root}/certs":
            self.jwks_calls += 1
            return httpx.Response(200, json=self.jwks())
        if path == f"{root}/token" and request.method == "POST":
            self.token_calls += 1
            return self.token(request)
        return httpx.Response(404)

    def authorize(self, query: dict[str, list[str]], **claims: Any) -> str:
        """What the provider does when the person signs in: a code for this request."""
        assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
        assert query["code_challenge_method"] == ["S256"]
        assert "openid" in query["scope"][0].split()
        code = f"code-{len(self.grants)}-{time.monotonic_ns()}"
        sign_with = claims.pop("sign_with", None)
        self.grants[code] = Grant(
            query["code_challenge"][0], query["nonce"][0], query["redirect_uri"][0],
            claims, sign_with,
        )  # fmt: skip
        return code

    def token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        basic = request.headers.get("authorization", "")
        user, _, password = base64.b64decode(basic.removeprefix("Basic ")).decode().partition(":")
        if (unquote(user), unquote(password)) != (CLIENT_ID, CLIENT_SECRET):
            return httpx.Response(401, json={"error": "invalid_client"})
        grant = self.grants.pop(form.get("code", ""), None)  # a code is good once
        if grant is None or form.get("grant_type") != "authorization_code":
            return httpx.Response(400, json={"error": "invalid_grant"})
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "pkce"})
        if form.get("redirect_uri") != grant.redirect_uri:
            return httpx.Response(400, json={"error": "invalid_grant"})
        return httpx.Response(200, json={
            "access_token": "at", "token_type": "Bearer", "expires_in": 300,
            "id_token": self.id_token(grant),
        })  # fmt: skip

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "idp-sub-kim", "iat": now,
                  "exp": now + 300, "nonce": grant.nonce, **grant.claims}  # fmt: skip
        claims = {k: v for k, v in claims.items() if v is not None}  # None: leave it out
        key = grant.sign_with or self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})
