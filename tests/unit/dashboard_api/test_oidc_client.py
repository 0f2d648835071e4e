"""The relying party alone (core/oidc.py), against tests/fake_oidc_provider.py: what
discovery must say, which ID tokens are refused before any claim is read, and that a key
rotation at the provider is followed without a restart."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from citypulse.settings import Settings
from dashboard_api.core.config import ApiSettings
from dashboard_api.core.oidc import OidcClient, OidcError, Pending
from tests.fake_oidc_provider import CLIENT_ID, CLIENT_SECRET, ISSUER, FakeProvider, _private_key


def _settings(**update: Any) -> ApiSettings:
    base = {"oidc_issuer": ISSUER, "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": SecretStr(CLIENT_SECRET), **update}  # fmt: skip
    return Settings.from_env().api.model_copy(update=base)


def _claims(nonce: str = "n", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": CLIENT_ID, "sub": "s", "iat": now, "exp": now + 60,
            "nonce": nonce, **extra}  # fmt: skip


async def test_the_authorization_url_carries_pkce_state_and_nonce() -> None:
    provider = FakeProvider()
    client = OidcClient(_settings(), transport=provider.transport())
    pending = Pending.new()
    url = httpx.URL(await client.authorization_url("https://cp.test/cb", pending))
    params = dict(url.params)
    assert url.path == "/realms/seoul/auth"
    assert params["state"] == pending.state and params["nonce"] == pending.nonce
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] != pending.code_verifier  # the hash, never the verifier
    assert pending.code_verifier not in str(url)
    await client.authorization_url("https://cp.test/cb", Pending.new())
    assert provider.discovery_calls == 1  # cached


async def test_discovery_for_another_issuer_is_refused() -> None:
    provider = FakeProvider(issuer="https://idp.test/realms/other")
    moved = httpx.MockTransport(
        lambda r: provider.handle(httpx.Request(r.method, str(r.url).replace("/seoul/", "/other/")))
    )
    client = OidcClient(_settings(), transport=moved)
    with pytest.raises(OidcError, match="another issuer") as caught:
        await client.metadata()
    assert caught.value.reason == "idp error"


@pytest.mark.parametrize(
    ("algorithm", "key"),
    [("none", None), ("HS256", CLIENT_SECRET)],
    ids=["unsigned", "signed with the client secret"],
)
async def test_only_asymmetric_signatures_are_accepted(algorithm: str, key: str | None) -> None:
    client = OidcClient(_settings(), transport=FakeProvider().transport())
    token = jwt.encode(_claims(), key, algorithm=algorithm)
    with pytest.raises(OidcError) as caught:
        await client.verify(token, "n")
    assert caught.value.reason == "bad token"


async def test_a_rotated_key_is_fetched_once_and_an_unknown_one_refused() -> None:
    provider = FakeProvider()
    client = OidcClient(_settings(), transport=provider.transport())
    token = jwt.encode(_claims(), provider.key, "RS256", headers={"kid": provider.kid})
    assert (await client.verify(token, "n"))["sub"] == "s"
    assert provider.jwks_calls == 1
    provider.key, provider.kid = _private_key(), "key-2"  # the provider rotates
    token = jwt.encode(_claims(), provider.key, "RS256", headers={"kid": "key-2"})
    assert (await client.verify(token, "n"))["sub"] == "s"
    assert provider.jwks_calls == 2
    stranger = jwt.encode(_claims(), _private_key(), "RS256", headers={"kid": "key-9"})
    with pytest.raises(OidcError) as caught:
        await client.verify(stranger, "n")
    assert caught.value.reason == "bad signature"


async def test_several_audiences_need_us_as_the_authorized_party() -> None:
    provider = FakeProvider()
    client = OidcClient(_settings(), transport=provider.transport())
    aud = [CLIENT_ID, "another-app"]
    for azp, ok in ((None, False), ("another-app", False), (CLIENT_ID, True)):
        claims = _claims(aud=aud, **({"azp": azp} if azp else {}))
        token = jwt.encode(claims, provider.key, "RS256", headers={"kid": provider.kid})
        if ok:
            assert (await client.verify(token, "n"))["azp"] == CLIENT_ID
        else:
            with pytest.raises(OidcError, match="azp"):
                await client.verify(token, "n")


async def test_a_provider_that_is_down_is_an_idp_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = OidcClient(_settings(), transport=httpx.MockTransport(down))
    with pytest.raises(OidcError) as caught:
        await client.metadata()
    assert caught.value.reason == "idp error"


def test_settings_refuse_a_plain_http_issuer_and_a_missing_client_id() -> None:
    with pytest.raises(ValueError, match="https"):
        ApiSettings(oidc_issuer="http://sso.example.go.kr", oidc_client_id="c")
    with pytest.raises(ValueError, match="CLIENT_ID"):
        ApiSettings(oidc_issuer="https://sso.example.go.kr")
    with pytest.raises(ValueError, match="openid"):
        ApiSettings(
            oidc_issuer="https://sso.example.go.kr", oidc_client_id="c", oidc_scopes="email"
        )
    assert not ApiSettings().oidc_enabled
    local = ApiSettings(oidc_issuer="http://127.0.0.1:8080/realms/x/", oidc_client_id="c")
    assert local.oidc_enabled and local.oidc_issuer == "http://127.0.0.1:8080/realms/x"
