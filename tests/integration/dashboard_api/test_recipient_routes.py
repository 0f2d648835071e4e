"""Recipients through the API: admins create, edit, disable and enable them, each change
audited with the admin's name and a masked number; operators read the list masked;
viewers and anonymous callers not at all; a bad number is a clear 422; no route ever 500s
and no log line carries a number."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.dashboard_api.conftest import ApiStack

PHONE, E164 = "010-5551-2399", "+821055512399"
FORMS = [E164, E164[1:], "01055512399", PHONE, "5551-2399"]  # any of them is a leak
NEW = {
    "name": "중구 야간 관제", "phone": PHONE, "tier": 2, "groups": ["festival", "festival"],
    "agency": "fire", "districts": ["중구"], "areas": ["POI009"], "language": "en",
    "role": "crowd", "quiet_from": "22:00", "quiet_until": "07:00",
}  # fmt: skip


def _url(api: ApiStack, path: str = "") -> str:
    return f"{api.base}/api/v1/recipients{path}"


def test_admins_manage_recipients_and_everyone_else_sees_masks(api_stack: ApiStack) -> None:
    admin, operator = api_stack.auth("admin"), api_stack.auth("operator")
    created = httpx.post(_url(api_stack), json=NEW, headers=admin, timeout=10)
    assert created.status_code == 201, created.text
    body = created.json()
    rid = body["id"]
    assert (body["phone"], body["phone_masked"]) == (E164, "+82******2399")
    assert (body["groups"], body["quiet_from"], body["quiet_until"]) == (
        ["festival"], "22:00:00", "07:00:00",
    )  # fmt: skip
    with psycopg.connect(api_stack.settings.db_conninfo) as conn:
        stored = conn.execute(
            "SELECT phone_e164, agency, quiet_from::text FROM recipients WHERE id = %s", (rid,)
        ).fetchone()
    assert stored == (E164, "fire", "22:00:00")

    # Operators read the list masked; viewers and anonymous callers not at all.
    listed = httpx.get(_url(api_stack), headers=operator, timeout=10)
    assert listed.status_code == 200
    mine = next(r for r in listed.json() if r["id"] == rid)
    assert (mine["phone"], mine["phone_masked"], mine["agency"]) == (None, "+82******2399", "fire")
    assert not any(f in listed.text for f in FORMS)
    assert httpx.get(_url(api_stack), headers=api_stack.auth("viewer1")).status_code == 403
    assert httpx.get(_url(api_stack)).status_code == 401
    full = httpx.get(_url(api_stack), headers=admin, timeout=10).json()
    assert next(r for r in full if r["id"] == rid)["phone"] == E164
    # Only admins change anything.
    for method, path, json in [
        ("POST", "", NEW), ("PATCH", f"/{rid}", {"tier": 3}), ("POST", f"/{rid}/disable", None),
    ]:  # fmt: skip
        r = httpx.request(method, _url(api_stack, path), json=json, headers=operator)
        assert r.status_code == 403, (method, path, r.text)

    # Edit: tier up, quiet hours cleared, a new number; then disable and enable.
    edit = {"tier": 3, "quiet_from": None, "quiet_until": None, "phone": "+82 10-5551-2400"}
    edited = httpx.patch(_url(api_stack, f"/{rid}"), json=edit, headers=admin, timeout=10)
    assert edited.status_code == 200, edited.text
    e = edited.json()
    assert (e["tier"], e["quiet_from"], e["phone"], e["name"]) == (
        3,
        None,
        "+821055512400",
        NEW["name"],
    )
    assert httpx.post(_url(api_stack, f"/{rid}/disable"), headers=admin).status_code == 204
    listed_after = httpx.get(_url(api_stack), headers=admin).json()
    assert next(r for r in listed_after if r["id"] == rid)["active"] is False
    assert httpx.post(_url(api_stack, f"/{rid}/enable"), headers=admin).status_code == 204
    assert httpx.post(_url(api_stack, "/999999/disable"), headers=admin).status_code == 404
    assert (
        httpx.patch(_url(api_stack, "/999999"), json={"tier": 1}, headers=admin).status_code == 404
    )

    # Every change audited naming the admin, numbers masked.
    audit = httpx.get(f"{api_stack.base}/api/v1/audit", headers=admin, timeout=10)
    mine_audit = [
        (a["actor"], a["action"], a["target"]) for a in audit.json() if a["target"] == str(rid)
    ]
    assert sorted(mine_audit) == sorted(
        ("admin", f"recipient.{a}", str(rid)) for a in ("create", "update", "disable", "enable")
    )
    create_line = next(a for a in audit.json() if a["action"] == "recipient.create")
    assert create_line["data"]["phone"] == "+82******2399"
    texts = audit.text + api_stack.log.read_text()
    assert not any(f in texts for f in [*FORMS, "+821055512400", "01055512400"])


def test_bad_bodies_are_clear_422s(api_stack: ApiStack) -> None:
    admin = api_stack.auth("admin")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"phone": "02-1234-5678"}, "Korean mobile"),  # a Seoul landline
        ({"phone": "+1 415 555 0100"}, "not a Korean number"),
        ({"tier": 4}, "less than or equal to 3"),
        ({"language": "ja"}, "'ko' or 'en'"),
        ({"role": "boss"}, "'crowd' or 'technical'"),
        ({"agency": "army"}, "'city'"),
        ({"districts": ["없는구"]}, "unknown district: 없는구"),
        ({"areas": ["POI999"]}, "unknown area: POI999"),
        ({"quiet_from": "22:00", "quiet_until": None}, "go together"),
        ({"quiet_from": "22:00", "quiet_until": "22:00"}, "must differ"),
        ({"quiet_from": "22:00+09:00", "quiet_until": "07:00"}, "without an offset"),
        ({"role": "technical"}, "technical (on-call) recipients have no quiet hours"),
        ({"name": "010-9999-1234"}, "must not be a phone number"),
        ({"groups": ["+82 10 9999 1234"]}, "must not be a phone number"),
        ({"extra": 1}, "Extra inputs"),
    ]
    for change, message in cases:
        r = httpx.post(_url(api_stack), json={**NEW, **change}, headers=admin, timeout=10)
        assert r.status_code == 422 and message in r.text, (change, r.text)
        assert "1234-5678" not in r.text and "9999-1234" not in r.text
    # A technical recipient without quiet hours is fine; giving it quiet hours later is not.
    tech = {**NEW, "role": "technical", "quiet_from": None, "quiet_until": None}
    created = httpx.post(_url(api_stack), json=tech, headers=admin, timeout=10)
    assert created.status_code == 201, created.text
    quiet = {"quiet_from": "23:00", "quiet_until": "06:00"}
    r = httpx.patch(_url(api_stack, f"/{created.json()['id']}"), json=quiet, headers=admin)
    assert r.status_code == 422 and "technical" in r.text
    r = httpx.patch(_url(api_stack, f"/{created.json()['id']}"), json={"name": None}, headers=admin)
    assert r.status_code == 422 and "may be null" in r.text


_TEXT = st.text(max_size=50)
_VALUE = st.one_of(
    _TEXT, st.integers(-5, 10**20), st.none(), st.booleans(), st.lists(_TEXT, max_size=3),
    st.sampled_from(["22:00", "07:00", "25:61", "00:00:00", "12:00Z", "010-5551-2401"]),
)  # fmt: skip
_FIELDS = st.sampled_from(
    ["name", "phone", "tier", "groups", "agency", "districts", "areas", "language", "role",
     "quiet_from", "quiet_until", "active", "id"]
)  # fmt: skip
_BODY = st.one_of(
    st.dictionaries(_FIELDS, _VALUE, max_size=8),
    st.fixed_dictionaries({}, optional={k: _VALUE for k in NEW}).map(lambda d: {**NEW, **d}),
    _VALUE,
)
_WORD = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=20)
_IDS: dict[str, int] = {}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_BODY, path_id=st.one_of(st.none(), st.integers(-3, 2**70), _WORD))
def test_recipient_routes_never_500(api_stack: ApiStack, body: Any, path_id: Any) -> None:
    admin = _admin(api_stack)
    if api_stack.base not in _IDS:
        r = httpx.post(_url(api_stack), json=NEW, headers=admin, timeout=10)
        _IDS[api_stack.base] = r.json()["id"]
    created = httpx.post(_url(api_stack), json=body, headers=admin, timeout=10)
    assert created.status_code in (201, 422), created.text
    target = _IDS[api_stack.base] if path_id is None else path_id
    path = str(target)
    edited = httpx.patch(_url(api_stack, f"/{path}"), json=body, headers=admin, timeout=10)
    assert edited.status_code in (200, 404, 422), edited.text
    for action in ("disable", "enable"):
        r = httpx.post(_url(api_stack, f"/{path}/{action}"), headers=admin, timeout=10)
        assert r.status_code in (204, 404, 422), r.text
    if created.status_code == 422:  # a refused number is never repeated
        assert "5551-2401" not in created.text and "01055512401" not in created.text


_TOKENS: dict[str, dict[str, str]] = {}


def _admin(api: ApiStack) -> dict[str, str]:
    if api.base not in _TOKENS:
        _TOKENS[api.base] = api.auth("admin")
    return _TOKENS[api.base]
