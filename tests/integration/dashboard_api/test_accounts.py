"""Per-person accounts: route × role × agency × district, disabled accounts, the lock.

A district office's operator (종로구) sees the whole city but acts only in 종로구; a
city-wide fire operator acts anywhere; viewers act nowhere. Disabling an account ends
its unexpired token at once; the tenth sign-in after nine wrong passwords in a row is
refused even with the right password, and every failure is in the audit.
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.dashboard_api.conftest import PASSWORDS, ApiStack

OWN, OTHER = "POI006", "POI009"  # 종로구, 중구 in the shipped registry
STRONG = "kettle-orbit-7-lantern"
TH = {"attention": 1, "caution": 2, "alert": 3, "serious": 5}
WINDOW = {"starts_at": "2030-01-01T00:00:00+09:00", "ends_at": "2030-01-02T00:00:00+09:00"}
ACCOUNTS = {
    # username: (role, agency, districts)
    "jongno.op": ("operator", "district", ["종로구"]),
    "fire.op": ("operator", "fire", []),
    "police.viewer": ("viewer", "police", []),
}


def _open_alert(api: ApiStack, area: str) -> int:
    with psycopg.connect(api.settings.db_conninfo, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO alerts (dedup_key, area_code, rule, stage, status, density_per_m2, "
            "people, opened_at) VALUES (%s, %s, 'stage', 'alert', 'open', 3.5, 35000, now()) "
            "RETURNING id",
            (f"{area}:stage", area),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _create(api: ApiStack, admin: dict[str, str], username: str) -> None:
    role, agency, districts = ACCOUNTS[username]
    body = {"username": username, "password": STRONG, "role": role, "agency": agency,
            "districts": districts, "display_name": username.split(".")[0]}  # fmt: skip
    r = httpx.post(f"{api.base}/api/v1/users", json=body, headers=admin, timeout=10)
    assert r.status_code == 201, r.text
    assert "password" not in r.text and r.json()["districts"] == districts


def _sign_in(api: ApiStack, username: str, password: str = STRONG) -> httpx.Response:
    return httpx.post(
        f"{api.base}/api/v1/auth/token",
        data={"username": username, "password": password},
        timeout=10,
    )


def _auth(api: ApiStack, username: str) -> dict[str, str]:
    r = _sign_in(api, username)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _actions(alert: dict[str, int]) -> list[tuple[str, str, str, Any]]:
    """(area the action is in, method, path, body) for every district-bound action."""
    out: list[tuple[str, str, str, Any]] = []
    for area, alert_id in alert.items():
        out += [
            (area, "POST", f"/api/v1/alerts/{alert_id}/acknowledge", {"note": "on it"}),
            (area, "POST", f"/api/v1/alerts/{alert_id}/resolve", {"reason": "cleared"}),
            (area, "POST", "/api/v1/silences", {"area_code": area, "reason": "fest", **WINDOW}),
            (area, "PUT", f"/api/v1/config/thresholds/{area}", {"thresholds": TH}),
            (area, "PUT", f"/api/v1/config/thresholds/{area}/zones/z1", {"thresholds": TH}),
            (area, "POST", "/api/v1/config/event-days",
             {"name": "fest", "thresholds": TH, "area_codes": [area], **WINDOW}),
        ]  # fmt: skip
    return out


@pytest.mark.parametrize("username", ["jongno.op", "fire.op", "police.viewer", "admin"])
def test_route_role_agency_district(api_stack: ApiStack, username: str) -> None:
    admin = api_stack.auth("admin")
    if username != "admin":
        _create(api_stack, admin, username)
    headers = admin if username == "admin" else _auth(api_stack, username)
    role, _agency, districts = ACCOUNTS.get(username, ("admin", "city", []))
    alerts = {OWN: _open_alert(api_stack, OWN), OTHER: _open_alert(api_stack, OTHER)}
    # Everyone with the operator role sees the whole city's alerts.
    listed = httpx.get(f"{api_stack.base}/api/v1/alerts", headers=headers, timeout=10)
    if role == "viewer":
        assert listed.status_code == 403
    else:
        assert {a["id"] for a in listed.json()} >= set(alerts.values())
    in_own = {OWN: "종로구", OTHER: "중구"}
    for area, method, path, body in _actions(alerts):
        r = httpx.request(method, f"{api_stack.base}{path}", json=body, headers=headers, timeout=10)
        where = f"{username} {method} {path}: {r.status_code} {r.text[:200]}"
        if role == "viewer":
            assert r.status_code == 403, where
        elif districts and in_own[area] not in districts:
            assert r.status_code == 403, where
            assert r.headers.get("X-Error-Code") == "outside_districts", where
        else:
            assert r.status_code not in (401, 403, 422, 500), where
    # A profile for every area (no list) is a city-wide act.
    every = {"name": "city", "thresholds": TH, **WINDOW}
    r = httpx.post(f"{api_stack.base}/api/v1/config/event-days", json=every, headers=headers)
    assert r.status_code == (403 if role == "viewer" or districts else 201), r.text
    # The audit names the person who acted.
    audit = httpx.get(f"{api_stack.base}/api/v1/audit", headers=admin, timeout=10).json()
    acks = [a for a in audit if a["action"] == "alert.acknowledge"]
    if role == "viewer":
        assert acks == []
    else:
        assert {a["actor"] for a in acks} == {username}
        assert {a["target"] for a in acks} == (
            {str(alerts[OWN])} if districts else {str(a) for a in alerts.values()}
        )


def test_a_disabled_users_unexpired_token_is_refused(api_stack: ApiStack) -> None:
    admin = api_stack.auth("admin")
    _create(api_stack, admin, "jongno.op")
    mine = _auth(api_stack, "jongno.op")
    url = f"{api_stack.base}/api/v1/alerts"
    assert httpx.get(url, headers=mine).status_code == 200
    r = httpx.post(f"{api_stack.base}/api/v1/users/jongno.op/disable", headers=admin)
    assert r.status_code == 204, r.text
    assert httpx.get(url, headers=mine).status_code == 401
    assert httpx.get(f"{api_stack.base}/api/v1/auth/me", headers=mine).status_code == 401
    assert _sign_in(api_stack, "jongno.op").status_code == 401
    httpx.post(f"{api_stack.base}/api/v1/users/jongno.op/enable", headers=admin)
    assert httpx.get(url, headers=mine).status_code == 200
    # A password reset ends the tokens issued before it.
    new = {"password": "another-strong-pass-42"}
    r = httpx.post(f"{api_stack.base}/api/v1/users/jongno.op/password", json=new, headers=admin)
    assert r.status_code == 204, r.text
    assert httpx.get(url, headers=mine).status_code == 401
    # The role in effect is the database's: a token cannot carry a stale one.
    me = httpx.get(f"{api_stack.base}/api/v1/auth/me", headers=admin).json()
    assert me["role"] == "admin" and me["agency"] == "city"


@pytest.mark.api_env(CITYPULSE_LOGIN_BACKOFF_BASE_S="0")  # the lock alone, no waiting
def test_the_tenth_sign_in_after_nine_wrong_is_refused_even_right_and_audited(
    api_stack: ApiStack,
) -> None:
    admin = api_stack.auth("admin")
    _create(api_stack, admin, "jongno.op")
    for n in range(9):
        r = _sign_in(api_stack, "jongno.op", f"wrong-{n}")
        assert r.status_code == 401, (n, r.text)
    tenth = _sign_in(api_stack, "jongno.op", STRONG)
    assert tenth.status_code == 429, tenth.text
    assert tenth.headers["X-Error-Code"] == "account_locked"
    assert int(tenth.headers["Retry-After"]) > 60
    audit = httpx.get(f"{api_stack.base}/api/v1/audit", headers=admin, timeout=10).json()
    mine = [a for a in audit if a["actor"] == "jongno.op"]
    failed = [a for a in mine if a["action"] == "auth.failed"]
    assert len(failed) == 9 and {a["data"]["reason"] for a in failed} == {"wrong password"}
    assert [a["data"]["reason"] for a in mine if a["action"] == "auth.refused"] == ["locked"]
    assert all(a["data"]["address"] == "127.0.0.1" for a in mine)
    # Unknown names are audited too (with no account to lock).
    assert _sign_in(api_stack, "nobody.here", "x").status_code == 401
    audit = httpx.get(f"{api_stack.base}/api/v1/audit", headers=admin, timeout=10).json()
    assert any(a["actor"] == "nobody.here" and a["action"] == "auth.failed" for a in audit)
    # An admin's password reset lifts the lock.
    reset = {"password": "another-strong-pass-42"}
    r = httpx.post(f"{api_stack.base}/api/v1/users/jongno.op/password", json=reset, headers=admin)
    assert r.status_code == 204
    assert _sign_in(api_stack, "jongno.op", reset["password"]).status_code == 200


def test_sign_in_backs_off_after_a_few_wrong_passwords(api_stack: ApiStack) -> None:
    admin = api_stack.auth("admin")
    _create(api_stack, admin, "fire.op")
    codes = [_sign_in(api_stack, "fire.op", f"wrong-{n}").status_code for n in range(5)]
    # Three free, the fourth starts a one-second wait, the fifth falls in it.
    assert codes == [401, 401, 401, 401, 429]


def test_admin_routes_refuse_weak_passwords_and_bad_accounts(api_stack: ApiStack) -> None:
    admin = api_stack.auth("admin")
    url = f"{api_stack.base}/api/v1/users"
    base = {"username": "new.op", "role": "operator", "agency": "district"}
    cases = [
        ({**base, "password": "short", "districts": ["종로구"]}, "weak"),
        ({**base, "password": "new.op-is-my-password", "districts": ["종로구"]}, "weak"),
        ({**base, "password": STRONG, "districts": []}, "needs its districts"),
        ({**base, "password": STRONG, "districts": ["없는구"]}, "unknown district"),
        ({**base, "username": "01055512347", "password": STRONG, "districts": ["종로구"]}, "phone"),
        ({**base, "password": STRONG, "role": "root", "districts": ["종로구"]}, "role"),
    ]
    for body, why in cases:
        r = httpx.post(url, json=body, headers=admin, timeout=10)
        assert r.status_code == 422, (why, r.text)
        assert STRONG not in r.text
    operator = api_stack.auth("operator")
    ok = {**base, "password": STRONG, "districts": ["종로구"]}
    assert httpx.post(url, json=ok, headers=operator).status_code == 403
    assert httpx.post(url, json=ok, headers=admin).status_code == 201
    assert httpx.post(url, json=ok, headers=admin).status_code == 409
    listed = httpx.get(url, headers=admin).json()
    assert {u["username"] for u in listed} >= {"admin", "operator", "new.op"}
    assert "password" not in str(listed) and "argon2" not in str(listed)
    assert httpx.post(f"{url}/admin/disable", headers=admin).status_code == 409  # not yourself


_TEXT = st.text(max_size=60)
_ACCOUNT = st.fixed_dictionaries(
    {},
    optional={
        "username": _TEXT,
        "password": _TEXT,
        "role": st.sampled_from(["viewer", "operator", "admin", "root", ""]),
        "agency": st.sampled_from(["city", "district", "fire", "police", "army"]),
        "districts": st.lists(_TEXT, max_size=4),
        "display_name": _TEXT,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=_ACCOUNT,
    form=st.dictionaries(st.sampled_from(["username", "password", "grant_type"]), _TEXT),
)
def test_new_input_routes_never_500_and_never_echo_a_password(
    api_stack: ApiStack, body: dict[str, Any], form: dict[str, str]
) -> None:
    admin = {"Authorization": f"Bearer {_admin_token(api_stack)}"}
    r = httpx.post(f"{api_stack.base}/api/v1/users", json=body, headers=admin, timeout=10)
    assert r.status_code in (201, 409, 422), r.text
    password = body.get("password", "")
    elsewhere = str({k: v for k, v in body.items() if k != "password"})
    if len(password) >= 8 and password not in elsewhere:
        assert password not in r.text
    login = httpx.post(f"{api_stack.base}/api/v1/auth/token", data=form, timeout=10)
    assert login.status_code in (200, 400, 401, 415, 429), login.text
    reset = httpx.post(
        f"{api_stack.base}/api/v1/users/operator/password",
        json={"password": password or "x"},
        headers=admin,
        timeout=10,
    )
    assert reset.status_code in (204, 422), reset.text


_TOKENS: dict[str, str] = {}


def _admin_token(api: ApiStack) -> str:
    if api.base not in _TOKENS:
        _TOKENS[api.base] = api.token("admin")
    return _TOKENS[api.base]


def test_seeded_accounts_still_sign_in(api_stack: ApiStack) -> None:
    for user in ("admin", "operator", "viewer1"):
        r = _sign_in(api_stack, user, PASSWORDS[user])
        assert r.status_code == 200, r.text
