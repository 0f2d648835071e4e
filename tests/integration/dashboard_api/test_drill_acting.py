"""Acting in a drill through the API: an acknowledgement and a playbook tick reach the
drill's schema (alerts, alert audit, operator audit, playbook ticks) at the drill's
simulated time, with the wall time and the drill named in the audit, through the live
routes' own checks (a district's operator acts only in its districts); the drill's record
lists them; a delivery report signed for the drill settles the drill's outbox row. The
live city's rows of the same ids stay as they were. A drill id that is not a drill is a
404 (or 422 when malformed), never a write anywhere."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.providers.kannel_dlr import dlr_signature, drill_dlr_secret
from alerts.providers.settings import DEV_DLR_SECRET
from citypulse.cli import drill
from citypulse.config import StackSettings
from citypulse.sim_clock import SimulatedClock
from tests.integration.dashboard_api.conftest import ApiStack

JONGNO = "POI006"  # 종로·청계 관광특구 (종로구, alley)
SIM_START = datetime(2026, 6, 13, 19, 0, tzinfo=UTC) - timedelta(hours=9)  # 19:00 KST
SPEED = 60.0
STRONG = "kettle-orbit-7-lantern"
LIVE_TABLES = ("alerts", "alert_audit", "operator_audit", "playbook_ticks", "sms_outbox",
               "delivery_reports")  # fmt: skip


@dataclass(frozen=True)
class Drill:
    stack: StackSettings
    clock: SimulatedClock

    def simulated(self, at: str | datetime, wall_before: float, wall_after: float) -> bool:
        """`at` is this drill's simulated time of a moment between the two wall instants."""
        moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        low, high = (replace(self.clock, wall=lambda t=t: t)() for t in (wall_before, wall_after))
        return low - timedelta(seconds=SPEED) <= moment <= high + timedelta(seconds=SPEED)


@pytest.fixture
def a_drill(api_stack: ApiStack) -> Iterator[Drill]:
    """A drill's schema beside the test's live one, as `citypulse drill start` makes it
    (migrations, registry, zones, marker), with its clock: 60x from 19:00 KST."""
    d = drill.drill_stack(api_stack.settings, "it" + secrets.token_hex(4))
    drill.prepare(api_stack.settings, d)
    clock = SimulatedClock(SIM_START, time.time(), SPEED)
    drill.save_clock(d, "alley_crush", clock)
    try:
        yield Drill(d, clock)
    finally:
        drill.drop(api_stack.settings, d.drill_id)


def _alert(conninfo: str, area: str = JONGNO) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO alerts (dedup_key, area_code, rule, stage, status, density_per_m2, "
            "people, opened_at) VALUES (%s, %s, 'stage', 'alert', 'open', 3.5, 35000, %s) "
            "RETURNING id",
            (f"{area}:stage", area, SIM_START),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _snapshot(conninfo: str) -> dict[str, Any]:
    """The live tables (operator audit without sign-ins, which the test's own are)."""
    with psycopg.connect(conninfo) as conn:
        return {
            t: conn.execute(
                f"SELECT * FROM {t} WHERE {where} ORDER BY id"  # noqa: S608
            ).fetchall()
            for t in LIVE_TABLES
            for where in ["action NOT LIKE 'auth.%%'" if t == "operator_audit" else "TRUE"]
        }


def _district_operator(api: ApiStack, username: str, district: str) -> dict[str, str]:
    body = {"username": username, "password": STRONG, "role": "operator",
            "agency": "district", "districts": [district], "display_name": username}  # fmt: skip
    r = httpx.post(f"{api.base}/api/v1/users", json=body, headers=api.auth("admin"), timeout=10)
    assert r.status_code == 201, r.text
    r = httpx.post(f"{api.base}/api/v1/auth/token", data={"username": username, "password": STRONG})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_an_acknowledgement_and_a_tick_in_a_drill_stay_in_the_drill(
    api_stack: ApiStack, a_drill: Drill
) -> None:
    base, drill_id = api_stack.base, a_drill.stack.drill_id
    conninfo = a_drill.stack.db_conninfo
    live_alert, drill_alert = _alert(api_stack.settings.db_conninfo), _alert(conninfo)
    assert live_alert == drill_alert  # the same id in both: a write to the wrong one shows
    jung = _district_operator(api_stack, "jung.op", "중구")
    operator = api_stack.auth("operator")
    live_before = _snapshot(api_stack.settings.db_conninfo)
    url = f"{base}/api/v1/drills/{drill_id}/alerts/{drill_alert}"

    # As live: another district's operator may not act on it.
    assert httpx.post(f"{url}/acknowledge", json={}, headers=jung).status_code == 403
    assert httpx.post(f"{url}/acknowledge", json={}).status_code == 401

    before = time.time()
    acked = httpx.post(f"{url}/acknowledge", json={"note": "drill"}, headers=operator)
    assert acked.status_code == 200, acked.text
    playbook = httpx.get(f"{url}/playbook", headers=operator).json()
    assert playbook["may_tick"] and playbook["area_type"] == "alley", playbook
    key = playbook["actions"][0]["key"]
    ticked = httpx.post(f"{url}/playbook/ticks", json={"action_key": key}, headers=operator)
    assert ticked.status_code == 200, ticked.text
    after = time.time()
    assert next(a for a in ticked.json()["actions"] if a["key"] == key)["ticked"]
    refused = httpx.post(f"{url}/playbook/ticks", json={"action_key": key}, headers=jung)
    assert refused.status_code == 403

    # In the drill's tables, at simulated times; the wall time beside them in the audit.
    assert acked.json()["status"] == "acknowledged"
    assert a_drill.simulated(acked.json()["acknowledged_at"], before, after), acked.json()
    record = httpx.get(f"{base}/api/v1/drills/{drill_id}", headers=operator).json()
    lines = {x["action"]: x for x in record["actions"]}
    assert {"alert.acknowledge", "playbook.tick"} == set(lines), record["actions"]
    for line in lines.values():
        assert line["actor"] == "operator" and line["target"] == str(drill_alert)
        assert line["data"]["drill"] == drill_id
        assert a_drill.simulated(line["at"], before, after), line
        wall = datetime.fromisoformat(line["data"]["wall_at"]).timestamp()
        assert before - 1 <= wall <= after + 1, line
    with psycopg.connect(conninfo) as conn:
        tick_at = conn.execute("SELECT at FROM playbook_ticks").fetchone()
    assert tick_at is not None and a_drill.simulated(tick_at[0], before, after)

    # The same record live incidents get, in simulated time; and printable.
    entries = httpx.get(f"{url}/record", headers=operator).json()["entries"]
    mine = [(e["kind"], e["time"]) for e in entries if "operator" in e["who"]]
    assert {k for k, _ in mine} >= {"acknowledgement", "action"}, entries
    assert all(a_drill.simulated(t, before, after) for _, t in mine), mine
    pdf = httpx.get(f"{url}/record.pdf", headers=operator, timeout=60)
    assert pdf.status_code in (200, 503), pdf.text[:200]  # 503: no Korean font installed
    csv = httpx.get(f"{url}/record.csv", headers=operator)
    assert csv.status_code == 200 and "acknowledgement" in csv.text

    # The live city: not a row changed, though its alert has the same id.
    assert _snapshot(api_stack.settings.db_conninfo) == live_before


def test_a_drills_delivery_report_settles_the_drills_outbox_only(
    api_stack: ApiStack, a_drill: Drill
) -> None:
    rows = {}
    for where in (api_stack.settings, a_drill.stack):
        with psycopg.connect(where.db_conninfo, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO sms_outbox (phone_e164, kind, body, status, attempts, provider) "
                "VALUES ('+821000000101', 'sms', 'x', 'sent', 1, 'kannel') RETURNING id"
            ).fetchone()
        assert row is not None
        rows[where.db_schema] = str(row[0])
    oid = rows[a_drill.stack.db_schema]
    assert rows[api_stack.settings.db_schema] == oid
    live_before = _snapshot(api_stack.settings.db_conninfo)
    drill_id = a_drill.stack.drill_id
    secret = drill_dlr_secret(DEV_DLR_SECRET, drill_id)
    params = {"message_id": oid, "drill": drill_id, "type": "1",
              "sig": dlr_signature(secret, oid), "reply": "id:1 stat:DELIVRD err:000"}  # fmt: skip
    dlr = f"{api_stack.base}/sms/dlr/kannel"
    # Another drill's id with this signature: refused; no such drill, rightly signed: 404.
    other = httpx.get(dlr, params={**params, "drill": "nosuch1"})
    assert other.status_code == 403
    missing = {**params, "drill": "nosuch1",
               "sig": dlr_signature(drill_dlr_secret(DEV_DLR_SECRET, "nosuch1"), oid)}  # fmt: skip
    assert httpx.get(dlr, params=missing).status_code == 404
    assert httpx.get(dlr, params=params).status_code == 200
    with psycopg.connect(a_drill.stack.db_conninfo) as conn:
        status = conn.execute("SELECT status FROM sms_outbox WHERE id = %s", (oid,)).fetchone()
    assert status == ("delivered",)
    assert _snapshot(api_stack.settings.db_conninfo) == live_before


HOSTILE = st.one_of(
    st.text(min_size=1, max_size=30).filter(lambda t: t.strip(".") != ""),
    st.sampled_from(["nosuch", "public", "drill_x", "x;drop schema public", "a" * 17,
                     "DRILL", "%00", "x'--", "it0"]),
)  # fmt: skip
_SEEN: dict[str, tuple[int, dict[str, str]]] = {}  # per API: its live alert, a token


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(drill_id=HOSTILE)
def test_a_drill_id_that_is_no_drill_is_a_4xx_and_writes_nothing(
    api_stack: ApiStack, drill_id: str
) -> None:
    if api_stack.base not in _SEEN:  # one API for every example
        _SEEN[api_stack.base] = (_alert(api_stack.settings.db_conninfo), api_stack.auth("operator"))
    alert, operator = _SEEN[api_stack.base]
    before = _snapshot(api_stack.settings.db_conninfo)
    path = f"{api_stack.base}/api/v1/drills/{quote(drill_id, safe='')}/alerts/{alert}"
    for method, suffix, body in (
        ("POST", "/acknowledge", {}),
        ("POST", "/playbook/ticks", {"action_key": "alert.alley.one-way"}),
        ("GET", "/playbook", None),
        ("GET", "/record", None),
        ("GET", "/record.pdf", None),
    ):
        r = httpx.request(method, path + suffix, json=body, headers=operator, timeout=10)
        assert 400 <= r.status_code < 500, (drill_id, suffix, r.status_code, r.text)
    assert _snapshot(api_stack.settings.db_conninfo) == before
