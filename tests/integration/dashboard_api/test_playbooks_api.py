"""Playbooks through the API: the seeded checklists, an admin's edit, an alert's
checklist with its ticks, and who may tick where (a district's operator only in its
districts); every tick is in the operator audit with the person's name, and the tick
table reads on its own (alert, action, agency, who, when). Hostile input is a 4xx."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.playbooks import DEFAULT_ACTIONS
from tests.integration.dashboard_api.conftest import ApiStack

STRONG = "kettle-orbit-7-lantern"
JONGNO, JUNG = "POI006", "POI033"  # 종로·청계 관광특구 (종로구, alley), 서울역 (중구, station)


def _open_alert(api: ApiStack, area: str, stage: str) -> int:
    with psycopg.connect(api.settings.db_conninfo, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO alerts (dedup_key, area_code, rule, stage, status, density_per_m2, "
            "people, opened_at) VALUES (%s, %s, 'stage', %s, 'open', 3.5, 35000, now()) "
            "RETURNING id",
            (f"{area}:stage", area, stage),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _account(
    api: ApiStack, username: str, agency: str, districts: list[str], name: str
) -> dict[str, str]:
    body = {"username": username, "password": STRONG, "role": "operator", "agency": agency,
            "districts": districts, "display_name": name}  # fmt: skip
    r = httpx.post(f"{api.base}/api/v1/users", json=body, headers=api.auth("admin"), timeout=10)
    assert r.status_code == 201, r.text
    r = httpx.post(f"{api.base}/api/v1/auth/token", data={"username": username, "password": STRONG})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _tick(
    api: ApiStack, who: dict[str, str], alert_id: int | str, key: str, ticked: bool = True
) -> httpx.Response:
    return httpx.post(
        f"{api.base}/api/v1/alerts/{alert_id}/playbook/ticks",
        json={"action_key": key, "ticked": ticked},
        headers=who,
        timeout=10,
    )


def test_operators_tick_in_their_districts_and_the_audit_names_them(api_stack: ApiStack) -> None:
    base = api_stack.base
    jongno = _account(api_stack, "jongno.op", "district", ["종로구"], "김종로")
    fire = _account(api_stack, "fire.op", "fire", [], "박소방")
    alley, station = (
        _open_alert(api_stack, JONGNO, "alert"),
        _open_alert(api_stack, JUNG, "serious"),
    )

    viewer = httpx.get(f"{base}/api/v1/alerts/{alley}/playbook", headers=api_stack.auth("viewer1"))
    assert viewer.status_code == 403
    assert httpx.get(f"{base}/api/v1/alerts/{alley}/playbook").status_code == 401

    shown = httpx.get(f"{base}/api/v1/alerts/{alley}/playbook", headers=jongno).json()
    assert (shown["stage"], shown["area_type"], shown["may_tick"]) == ("alert", "alley", True)
    keys = [a["key"] for a in shown["actions"]]
    assert keys[0] == "alert.alley.staff-on-site" and not any(a["ticked"] for a in shown["actions"])
    other = httpx.get(f"{base}/api/v1/alerts/{station}/playbook", headers=jongno).json()
    assert (other["area_type"], other["may_tick"]) == ("station", False)  # sees, may not act
    assert "serious.station.trains-pass" in [a["key"] for a in other["actions"]]

    r = _tick(api_stack, jongno, alley, "alert.alley.one-way")
    assert r.status_code == 200, r.text
    one_way = next(a for a in r.json()["actions"] if a["key"] == "alert.alley.one-way")
    assert one_way["ticked"] and one_way["ticked_by"] == "jongno.op"
    assert one_way["ticked_by_name"] == "김종로" and one_way["ticked_at"]

    refused = _tick(api_stack, jongno, station, "serious.station.trains-pass")
    assert refused.status_code == 403 and refused.headers["X-Error-Code"] == "outside_districts"
    assert _tick(api_stack, jongno, alley, "serious.station.trains-pass").status_code == 404
    assert _tick(api_stack, jongno, 999999, "alert.alley.one-way").status_code == 404
    viewer_tick = _tick(api_stack, api_stack.auth("viewer1"), alley, "alert.alley.one-way")
    assert viewer_tick.status_code == 403
    assert _tick(api_stack, fire, station, "serious.station.trains-pass").status_code == 200

    undone = _tick(api_stack, jongno, alley, "alert.alley.one-way", ticked=False).json()
    assert not any(a["ticked"] for a in undone["actions"])
    assert [(h["action_key"], h["ticked"], h["username"]) for h in undone["history"]] == [
        ("alert.alley.one-way", True, "jongno.op"),
        ("alert.alley.one-way", False, "jongno.op"),
    ]

    audit = httpx.get(f"{base}/api/v1/audit", headers=api_stack.auth("admin"), timeout=10).json()
    lines = [a for a in reversed(audit) if a["action"].startswith("playbook.")]
    assert [(a["action"], a["actor"], a["target"]) for a in lines] == [
        ("playbook.tick", "jongno.op", str(alley)),
        ("playbook.tick", "fire.op", str(station)),
        ("playbook.untick", "jongno.op", str(alley)),
    ]
    assert lines[0]["data"]["display_name"] == "김종로"
    assert lines[0]["data"]["text_ko"] == "골목 일방통행 보행 유도 및 유입 통제"
    assert lines[1]["data"]["agency"] == "city"  # the action's agency, not the person's

    # The tick table reads on its own, for the incident record.
    with psycopg.connect(api_stack.settings.db_conninfo) as conn:
        rows = conn.execute(
            "SELECT alert_id, action_key, text_ko, agency, ticked, username, display_name, at "
            "FROM playbook_ticks ORDER BY at, id"
        ).fetchall()
    assert [(r[0], r[1], r[4], r[5], r[6]) for r in rows] == [
        (alley, "alert.alley.one-way", True, "jongno.op", "김종로"),
        (station, "serious.station.trains-pass", True, "fire.op", "박소방"),
        (alley, "alert.alley.one-way", False, "jongno.op", "김종로"),
    ]
    assert rows[1][2] == "열차 무정차 통과 요청(서울교통공사)" and rows[1][3] == "city"


def test_admins_edit_a_checklist_and_alerts_show_it(api_stack: ApiStack) -> None:
    base, admin, operator = api_stack.base, api_stack.auth("admin"), api_stack.auth("operator")
    seeded = httpx.get(f"{base}/api/v1/playbooks", headers=operator).json()
    stored = {
        (c["stage"], c["area_type"], a["key"], a["position"], a["agency"], a["text_ko"])
        for c in seeded["checklists"]
        for a in c["actions"]
    }
    assert stored == {
        (a.stage.wire_name, a.area_type, a.key, a.position, a.agency, a.text_ko)
        for a in DEFAULT_ACTIONS
    }
    alley = _open_alert(api_stack, JONGNO, "alert")
    mine = {"actions": [
        {"key": "alley.gate", "agency": "police", "text_ko": "골목 입구 통제", "text_en": "Gate"},
        {"key": "alert.alley.broadcast", "agency": "district", "text_ko": "방송", "text_en": "PA"},
    ]}  # fmt: skip
    url = f"{base}/api/v1/playbooks/alert/alley"
    assert httpx.put(url, json=mine, headers=operator).status_code == 403
    r = httpx.put(url, json=mine, headers=admin)
    assert r.status_code == 200, r.text
    assert [a["key"] for a in r.json()["actions"]] == ["alley.gate", "alert.alley.broadcast"]
    shown = httpx.get(f"{base}/api/v1/alerts/{alley}/playbook", headers=operator).json()
    assert [a["text_ko"] for a in shown["actions"]] == ["골목 입구 통제", "방송"]

    taken = {"actions": [{**mine["actions"][0], "key": "serious.station.rescue"}]}
    conflict = httpx.put(url, json=taken, headers=admin)
    assert conflict.status_code == 409 and conflict.headers["X-Error-Code"] == "playbook_key_taken"
    for bad_url in (f"{base}/api/v1/playbooks/normal/alley", f"{base}/api/v1/playbooks/alert/x"):
        assert httpx.put(bad_url, json=mine, headers=admin).status_code == 422

    # Emptied, the alley falls back to the default checklist.
    assert httpx.put(url, json={"actions": []}, headers=admin).status_code == 200
    shown = httpx.get(f"{base}/api/v1/alerts/{alley}/playbook", headers=operator).json()
    assert shown["actions"][0]["key"] == "alert.default.staff-on-site"
    audit = httpx.get(f"{base}/api/v1/audit", headers=admin, timeout=10).json()
    edits = [a for a in audit if a["action"] == "playbook.update"]
    assert [(a["actor"], a["target"]) for a in edits] == [("admin", "alert/alley")] * 2


_TEXT = st.text(max_size=140)
_ACTION = st.fixed_dictionaries(
    {},
    optional={
        "key": st.one_of(_TEXT, st.from_regex(r"^[a-z0-9][a-z0-9_.-]{0,10}$", fullmatch=True)),
        "agency": st.sampled_from(["city", "district", "fire", "police", "army", ""]),
        "text_ko": _TEXT,
        "text_en": _TEXT,
        "extra": _TEXT,
    },
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stage=st.sampled_from(["alert", "serious", "normal", "경계", "", "%00", "alert%2F.."]),
    area_type=st.sampled_from(["alley", "station", "default", "beach", "%00"]),
    put_body=st.one_of(st.fixed_dictionaries({"actions": st.lists(_ACTION, max_size=4)}), _JSON),
    alert=st.sampled_from(["1", "0", "-1", "99999999999999999999", "x", "%00"]),
    tick_body=st.one_of(
        st.fixed_dictionaries(
            {}, optional={"action_key": _TEXT, "ticked": st.one_of(st.booleans(), _TEXT)}
        ),
        _JSON,
    ),
)
def test_new_playbook_routes_never_500(
    api_stack: ApiStack,
    stage: str,
    area_type: str,
    put_body: Any,
    alert: str,
    tick_body: Any,
) -> None:
    admin = _admin(api_stack)
    base = api_stack.base
    r = httpx.put(f"{base}/api/v1/playbooks/{stage}/{area_type}", json=put_body, headers=admin)
    assert r.status_code in (200, 404, 405, 409, 422), r.text
    assert len(r.content) < 20_000
    r = httpx.post(f"{base}/api/v1/alerts/{alert}/playbook/ticks", json=tick_body, headers=admin)
    assert r.status_code in (200, 404, 422), r.text
    r = httpx.get(f"{base}/api/v1/alerts/{alert}/playbook", headers=admin)
    assert r.status_code in (200, 404, 422), r.text


_TOKENS: dict[str, dict[str, str]] = {}


def _admin(api: ApiStack) -> dict[str, str]:
    """An admin's token, and alert 1 to tick (so input reaches the checklist, not a 404)."""
    if api.base not in _TOKENS:
        _TOKENS[api.base] = api.auth("admin")
        _open_alert(api, "POI014", "serious")
    return _TOKENS[api.base]
