"""Every route walked with every role: operator and admin routes refuse anonymous and
viewer callers; no public response and no log line carries a phone number."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from alerts.phone_ack.replies import mo_route_key
from alerts.providers.settings import DEV_ACK_SECRET
from dashboard_api.main import app
from dashboard_api.present import contains_phone
from tests.integration.dashboard_api.conftest import TEST_PHONE, ApiStack, area_state

WINDOW = {"starts_at": "2030-01-01T00:00:00+09:00", "ends_at": "2030-01-02T00:00:00+09:00"}
RANGE = "from=2030%2D01%2D01&to=2030%2D01%2D02"
TH = {"attention": 1, "caution": 2, "alert": 3, "serious": 5}
# (method, path template, concrete path, least role, body). Every API route must be here.
MO_KEY = mo_route_key(DEV_ACK_SECRET)  # the API stack runs with the development secret
ROUTES: list[tuple[str, str, str, str, Any]] = [
    ("GET", "/health", "/health", "viewer", None),
    ("GET", "/metrics", "/metrics", "viewer", None),
    ("POST", "/api/v1/auth/token", "/api/v1/auth/token", "viewer", None),
    ("GET", "/api/v1/auth/me", "/api/v1/auth/me", "viewer", None),
    # Sign-in through an identity provider: not configured here (404 but the first).
    ("GET", "/api/v1/auth/oidc", "/api/v1/auth/oidc", "viewer", None),
    ("GET", "/api/v1/auth/oidc/login", "/api/v1/auth/oidc/login", "viewer", None),
    ("GET", "/api/v1/auth/oidc/callback", "/api/v1/auth/oidc/callback", "viewer", None),
    ("POST", "/api/v1/auth/oidc/session", "/api/v1/auth/oidc/session", "viewer", None),
    (
        "PUT",
        "/api/v1/users/{username}/oidc",
        "/api/v1/users/nobody/oidc",
        "admin",
        {"subject": "x"},
    ),
    ("DELETE", "/api/v1/users/{username}/oidc", "/api/v1/users/nobody/oidc", "admin", None),
    ("GET", "/api/v1/areas", "/api/v1/areas", "viewer", None),
    ("GET", "/api/v1/areas/{code}", "/api/v1/areas/POI009", "viewer", None),
    ("GET", "/api/v1/areas/{code}/history", "/api/v1/areas/POI009/history", "viewer", None),
    ("GET", "/api/v1/feeds", "/api/v1/feeds", "viewer", None),
    ("GET", "/api/v1/alerts", "/api/v1/alerts", "operator", None),
    ("GET", "/api/v1/alerts/{alert_id}", "/api/v1/alerts/999999", "operator", None),
    (
        "POST",
        "/api/v1/alerts/{alert_id}/acknowledge",
        "/api/v1/alerts/999999/acknowledge",
        "operator",
        {"note": "x"},
    ),
    (
        "POST",
        "/api/v1/alerts/{alert_id}/resolve",
        "/api/v1/alerts/999999/resolve",
        "operator",
        {"reason": "x"},
    ),
    (
        "POST",
        "/api/v1/alerts/{alert_id}/comment",
        "/api/v1/alerts/999999/comment",
        "operator",
        {"text": "x"},
    ),
    # The record after an incident: names recipients and operators, so not public. Its
    # dates are escaped (%2D): a plain date reads as a phone number to the log check.
    ("GET", "/api/v1/alerts/{alert_id}/record", "/api/v1/alerts/999999/record", "operator", None),
    *[
        (
            "GET",
            f"/api/v1/alerts/{{alert_id}}/record.{x}",
            f"/api/v1/alerts/999999/record.{x}",
            "operator",
            None,
        )
        for x in ("csv", "pdf")
    ],
    *[
        (
            "GET",
            f"/api/v1/records{x}",
            f"/api/v1/records{x}?areas=POI009&{RANGE}",
            "operator",
            None,
        )
        for x in ("", ".csv", ".pdf")
    ],
    ("GET", "/api/v1/silences", "/api/v1/silences", "operator", None),
    (
        "POST",
        "/api/v1/silences",
        "/api/v1/silences",
        "operator",
        {"area_code": "POI009", "reason": "festival", **WINDOW},
    ),
    ("GET", "/api/v1/config/thresholds", "/api/v1/config/thresholds", "operator", None),
    (
        "PUT",
        "/api/v1/config/thresholds/{code}",
        "/api/v1/config/thresholds/POI009",
        "operator",
        {"thresholds": TH},
    ),
    (
        "PUT",
        "/api/v1/config/thresholds/{code}/zones/{zone_id}",
        "/api/v1/config/thresholds/POI009/zones/nozone",
        "operator",
        {"thresholds": TH},
    ),
    (
        "POST",
        "/api/v1/config/event-days",
        "/api/v1/config/event-days",
        "operator",
        {"name": "fest", "thresholds": TH, **WINDOW},
    ),
    (
        "DELETE",
        "/api/v1/config/event-days/{profile_id}",
        "/api/v1/config/event-days/999999",
        "operator",
        None,
    ),
    ("GET", "/api/v1/recipients", "/api/v1/recipients", "operator", None),  # masked
    (
        "POST",
        "/api/v1/recipients",
        "/api/v1/recipients",
        "admin",
        {"name": "matrix desk", "phone": "010-5550-1234", "tier": 2},
    ),
    (
        "PATCH",
        "/api/v1/recipients/{recipient_id}",
        "/api/v1/recipients/999999",
        "admin",
        {"tier": 2},
    ),
    (
        "POST",
        "/api/v1/recipients/{recipient_id}/disable",
        "/api/v1/recipients/999999/disable",
        "admin",
        None,
    ),
    (
        "POST",
        "/api/v1/recipients/{recipient_id}/enable",
        "/api/v1/recipients/999999/enable",
        "admin",
        None,
    ),
    ("GET", "/api/v1/audit", "/api/v1/audit", "admin", None),
    ("GET", "/api/v1/users", "/api/v1/users", "admin", None),
    (
        "POST",
        "/api/v1/users",
        "/api/v1/users",
        "admin",
        {"username": "matrix.op", "password": "x", "role": "operator", "agency": "fire"},
    ),
    (
        "POST",
        "/api/v1/users/{username}/disable",
        "/api/v1/users/nobody/disable",
        "admin",
        None,
    ),
    ("POST", "/api/v1/users/{username}/enable", "/api/v1/users/nobody/enable", "admin", None),
    (
        "POST",
        "/api/v1/users/{username}/password",
        "/api/v1/users/nobody/password",
        "admin",
        {"password": "x"},
    ),
    ("GET", "/sms/dlr/kannel", "/sms/dlr/kannel", "viewer", None),
    # A recipient's phone: the link is the credential, the reply route Kannel's key.
    ("GET", "/a/{token}", "/a/not-a-token", "viewer", None),
    ("POST", "/a/{token}", "/a/not-a-token", "viewer", None),
    ("GET", "/sms/mo/kannel", f"/sms/mo/kannel?secret={MO_KEY}&text=hello", "viewer", None),
    ("POST", "/api/v1/ngsi/notify/v2", "/api/v1/ngsi/notify/v2", "broker", {"data": []}),
    ("POST", "/api/v1/ngsi/notify/ld", "/api/v1/ngsi/notify/ld", "broker", {"data": []}),
    ("GET", "/api/v1/opendata/crowdflow", "/api/v1/opendata/crowdflow", "viewer", None),
    ("GET", "/api/v1/opendata/areas", "/api/v1/opendata/areas", "viewer", None),
    (
        "GET",
        "/api/v1/opendata/seoul/{key}/{fmt}/citydata_ppltn/{start}/{end}/{area}",
        "/api/v1/opendata/seoul/k/json/citydata_ppltn/1/5/POI009",
        "viewer",
        None,
    ),
    (
        "GET",
        "/api/v1/opendata/history/{code}.csv",
        "/api/v1/opendata/history/POI009.csv",  # no dates: they read as phones to the log check
        "viewer",
        None,
    ),
    (
        "GET",
        "/api/v1/opendata/history/{code}.parquet",
        "/api/v1/opendata/history/POI009.parquet",
        "viewer",
        None,
    ),
    ("GET", "/api/v1/map-config", "/api/v1/map-config", "viewer", None),
    ("GET", "/api/v1/playbooks", "/api/v1/playbooks", "operator", None),
    # Drills: an exercise's record names recipients and operators, like the live one's.
    ("GET", "/api/v1/drills", "/api/v1/drills", "operator", None),
    ("GET", "/api/v1/drills/{drill_id}", "/api/v1/drills/d0000000", "operator", None),
    (
        "POST",
        "/api/v1/drills/{drill_id}/alerts/{alert_id}/acknowledge",
        "/api/v1/drills/d0000000/alerts/1/acknowledge",
        "operator",
        {"note": ""},
    ),
    (
        "GET",
        "/api/v1/drills/{drill_id}/alerts/{alert_id}/playbook",
        "/api/v1/drills/d0000000/alerts/1/playbook",
        "operator",
        None,
    ),
    (
        "POST",
        "/api/v1/drills/{drill_id}/alerts/{alert_id}/playbook/ticks",
        "/api/v1/drills/d0000000/alerts/1/playbook/ticks",
        "operator",
        {"action_key": "alert.alley.one-way"},
    ),
    (
        "GET",
        "/api/v1/drills/{drill_id}/alerts/{alert_id}/record",
        "/api/v1/drills/d0000000/alerts/1/record",
        "operator",
        None,
    ),
    (
        "GET",
        "/api/v1/drills/{drill_id}/alerts/{alert_id}/record.{suffix}",
        "/api/v1/drills/d0000000/alerts/1/record.csv",
        "operator",
        None,
    ),
    (
        "PUT",
        "/api/v1/playbooks/{stage}/{area_type}",
        "/api/v1/playbooks/attention/park",
        "admin",
        {"actions": []},
    ),
    (
        "GET",
        "/api/v1/alerts/{alert_id}/playbook",
        "/api/v1/alerts/999999/playbook",
        "operator",
        None,
    ),
    (
        "POST",
        "/api/v1/alerts/{alert_id}/playbook/ticks",
        "/api/v1/alerts/999999/playbook/ticks",
        "operator",
        {"action_key": "alert.default.broadcast"},
    ),
]
# anonymous = viewer; "broker": only a FIWARE broker's notification token, no staff role
RANK = {"anonymous": 0, "viewer": 0, "operator": 1, "admin": 2, "broker": 3}


def test_the_table_covers_every_route_and_each_is_documented() -> None:
    paths = app.openapi()["paths"]
    routes = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    assert routes == {(m, t) for m, t, *_ in ROUTES}
    undocumented = [
        (m, p) for p, ops in paths.items() for m, op in ops.items() if not op.get("description")
    ]
    assert undocumented == []


def _phones(api: ApiStack) -> list[str]:
    demo = ["+821000000001", "+821000000002", "+821000000003", "+821000000009"]
    t = TEST_PHONE
    return [*demo, t, t[1:], "0" + t[3:], f"010-{t[5:9]}-{t[9:]}", f"{t[5:9]}-{t[9:]}"]


@pytest.mark.parametrize("caller", ["anonymous", "viewer", "operator", "admin"])
def test_every_route_for_every_role(api_stack: ApiStack, caller: str) -> None:
    api_stack.publish(area_state("POI009", 2.0, "caution"))
    users = {"viewer": "viewer1", "operator": "operator", "admin": "admin"}
    headers = api_stack.auth(users[caller]) if caller in users else {}
    phones = _phones(api_stack)
    for method, _template, path, least, body in ROUTES:
        r = httpx.request(method, f"{api_stack.base}{path}", json=body, headers=headers, timeout=15)
        where = f"{caller} {method} {path}: {r.status_code} {r.text[:200]}"
        if RANK[caller] < RANK[least]:
            assert r.status_code == (401 if caller == "anonymous" else 403), where
        else:
            assert r.status_code not in (401, 403, 500), where
        if least == "viewer" or caller in ("anonymous", "viewer"):
            assert not any(p in r.text for p in phones), where
    ws_free = re.sub(r"\d+\.\d+", "", api_stack.log.read_text())  # coordinates, timings
    assert not any(p in api_stack.log.read_text() for p in phones)
    assert not any(contains_phone(line) for line in ws_free.splitlines())


def test_tokens_are_checked(api_stack: ApiStack) -> None:
    url = f"{api_stack.base}/api/v1/alerts"
    token = api_stack.token("operator")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert httpx.get(url, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    wrong = httpx.post(
        f"{api_stack.base}/api/v1/auth/token", data={"username": "operator", "password": "nope"}
    )
    assert wrong.status_code == 401 and "wrong username or password" in wrong.text
    nobody = httpx.post(
        f"{api_stack.base}/api/v1/auth/token", data={"username": "nobody", "password": "nope"}
    )
    assert nobody.status_code == 401
    json_login = httpx.post(f"{api_stack.base}/api/v1/auth/token", json={"username": "x"})
    assert json_login.status_code == 415
