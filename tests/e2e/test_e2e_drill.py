"""`citypulse drill start alley_crush --speed 60` on a running stack (`up`, real Kannel):
two drills of the same scenario and seed side by side each reach 경계 and 심각 for the
crushed alley within two wall-clock minutes, text only their own recipients, every text
marked [훈련] / [DRILL], through the real gateway, and Kannel's delivery reports mark them
delivered in the drill's outbox; in Chromium an operator switches the page to a drill,
sees its banner, acknowledges the alley's alert and ticks a playbook action, and the
drill's record lists both at their simulated times; the drills make the same decisions,
dead-letter nothing as duplicate or future; and the live city's alerts, audits, playbook
ticks, outbox, dead letters, input topic and dashboard state are as they were before.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from alerts.tables import outbox
from citypulse.cli import drill
from citypulse.config import REPO_ROOT, StackSettings
from citypulse.processes import port_open
from infra.kannel import gateway
from infra.kannel.settings import KannelGatewaySettings
from tests.e2e.browser import Browser, Page, sign_in
from tests.e2e.support import cli
from tests.e2e.test_e2e_startup import Sms, free_port, kannel_sent
from tests.integration.support import settings_env, wait_for

# About 3 minutes: with CITYPULSE_TEST_DRILL=1, outside CI's 35-minute budget (the whole
# suite took 39.5 min with it and the HA tests in the fresh-clone run of 2026-12-02).
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.kannel,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not os.environ.get("CITYPULSE_TEST_DRILL"), reason="CITYPULSE_TEST_DRILL=1"),
]

STACK = StackSettings(
    env="test", var_dir=REPO_ROOT / "var" / "e2e" / "drill", kafka_port=32092,
    kafka_controller_port=32093, db_port=32432, api_port=32000,
)  # fmt: skip
AREA, ZONE = "POI004", "POI004-Z2"  # alley_crush's default alley (이태원 관광특구)
SEED, START = "11", "2026-06-13T19:00:00+09:00"  # a Saturday evening, simulated
# Drill-only numbers (010-0000-xxxx: no carrier assigns them), Korean and English.
DRILLS = {
    "e2ea": {"+821000000101": "ko", "+821000000102": "en"},
    "e2eb": {"+821000000201": "ko", "+821000000202": "en"},
}
STATUSES = "SELECT id, status FROM {s}.sms_outbox ORDER BY id"
LIVE_TABLES = ("alerts", "alert_audit", "sms_outbox", "delivery_reports", "operator_audit",
               "playbook_ticks")  # fmt: skip
LIVE_NUMBERS = {"+821000000001", "+821000000002", "+821000000003", "+821000000009"}  # `up`'s


@pytest.fixture(scope="module")
def kannel() -> Iterator[tuple[Path, KannelGatewaySettings]]:
    try:
        gateway.install_if_missing()
    except gateway.KannelError as exc:
        pytest.skip(f"Kannel is not available: {exc}")
    settings = KannelGatewaySettings(
        admin_port=free_port(), smsbox_port=free_port(), sendsms_port=free_port(),
        smsc_port=free_port(),
    )  # fmt: skip
    var_dir = REPO_ROOT / "var" / "e2e" / "drill-kannel"
    shutil.rmtree(var_dir, ignore_errors=True)  # a fresh access log
    gateway.start(var_dir, settings)
    yield var_dir, settings
    gateway.stop(var_dir)


@pytest.fixture(scope="module")
def stack(kannel: tuple[Path, KannelGatewaySettings]) -> Iterator[dict[str, str]]:
    _, k = kannel
    env = {
        **os.environ, **settings_env(STACK), "WEB_PORT": "32068",
        "CITYPULSE_SMS_PROVIDER": "kannel",
        "CITYPULSE_SMS_KANNEL_SENDSMS_URL": k.sendsms_url,
        "CITYPULSE_SMS_KANNEL_USERNAME": k.sendsms_username,
        "CITYPULSE_SMS_KANNEL_PASSWORD": k.sendsms_password.get_secret_value(),
        "CITYPULSE_SMS_DLR_CALLBACK_URL": f"{STACK.api_url}/sms/dlr/kannel",
    }  # fmt: skip
    cli(env, "down")
    shutil.rmtree(STACK.var_dir, ignore_errors=True)
    ports = (STACK.db_port, STACK.kafka_port, STACK.kafka_controller_port, STACK.api_port)
    wait_for(lambda: not any(port_open("127.0.0.1", p) for p in ports), 60,
             f"ports {ports} to be free")  # fmt: skip
    try:
        # The live city with its dispatcher, API and watchdog, and no simulated crowd: what
        # it shows must not move while the drills run.
        up = cli(env, "up", "--no-simulator")
        assert up.returncode == 0, up.stdout + up.stderr
        yield env
    finally:
        for drill_id in DRILLS:
            cli(env, "drill", "stop", drill_id)
        cli(env, "down")


def live_snapshot() -> dict[str, Any]:
    """What the live city holds: its tables, its input topic and its dashboard state."""
    from kafka import KafkaConsumer, TopicPartition

    with psycopg.connect(STACK.db_conninfo) as conn:
        tables = {
            t: conn.execute(
                sql.SQL("SELECT count(*), coalesce(max(id), 0) FROM {} WHERE {}").format(
                    sql.Identifier(t),
                    # Signing in (the test's own, the page's) is audited live; nothing else.
                    sql.SQL("action NOT LIKE 'auth.%%'" if t == "operator_audit" else "TRUE"),
                )
            ).fetchone()
            for t in LIVE_TABLES
        }
        dead = conn.execute("SELECT reason, count FROM dead_letter_counts ORDER BY 1").fetchall()
        readings = conn.execute("SELECT count(*) FROM crowd_readings").fetchone()
    consumer = KafkaConsumer(bootstrap_servers=STACK.kafka_bootstrap)
    try:
        topic = STACK.topic("city-events.v1")
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()
    with urllib.request.urlopen(f"{STACK.api_url}/api/v1/areas", timeout=10) as r:  # noqa: S310
        areas = json.loads(r.read())
    return {"tables": tables, "dead": dead, "readings": readings, "topic": ends, "areas": areas}


OPERATOR, OPERATOR_PASSWORD = "operator", "operator-dev-password"  # `up`'s


def operator_get(path: str) -> Any:
    form = urllib.parse.urlencode({"username": OPERATOR, "password": OPERATOR_PASSWORD}).encode()
    with urllib.request.urlopen(f"{STACK.api_url}/api/v1/auth/token", form, timeout=10) as r:  # noqa: S310
        token = json.loads(r.read())["access_token"]
    req = urllib.request.Request(  # noqa: S310
        f"{STACK.api_url}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
        return json.loads(r.read())


def zone_stages(drill_id: str) -> str:
    """The stages of the crushed alley's alert decisions in the drill ("stage 경계",
    "경계 -> 심각", ...), joined."""
    found = drill.decisions(drill.drill_stack(STACK, drill_id))
    return " | ".join(d[4] for d in found if d[:2] == (AREA, ZONE))


def drill_rows(drill_id: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(STACK.db_conninfo) as conn:
        return list(
            conn.execute(sql.SQL(query).format(s=sql.Identifier(f"drill_{drill_id}"))).fetchall()
        )


def texts_to(sent: list[Sms], numbers: dict[str, str]) -> list[Sms]:
    return [s for s in sent if s.to in numbers]


def drill_texts_delivered(drill_id: str) -> bool:
    """Every text the drill handed to Kannel is `delivered` by Kannel's delivery report
    (which comes back to the live API with the drill's id and signature)."""
    rows = dict(drill_rows(drill_id, "SELECT status, count(*) FROM {s}.sms_outbox GROUP BY 1"))
    return bool(rows.get("delivered")) and not rows.get("sent") and not rows.get("sending")


def shows(page: Page, expression: str) -> bool:
    """`expression` holds on the page; False while it navigates (no context to ask)."""
    try:
        return bool(page.js(f"!!({expression})"))
    except (RuntimeError, TimeoutError):
        return False


def operator_acts_in_the_drill(drill_id: str) -> tuple[int, str]:
    """In Chromium: the operator signs in, switches the page to the drill, sees its banner,
    acknowledges the crushed alley's open alert and ticks its playbook's first action.
    Returns the alert and the action ticked."""
    open_zone = sorted(
        (a for a in operator_get(f"/api/v1/drills/{drill_id}")["alerts"]
         if a["zone_id"] == ZONE and a["status"] == "open"),
        key=lambda a: a["stage"] != "serious",
    )  # fmt: skip
    assert open_zone, f"no open alert for {ZONE} in drill {drill_id}"
    alert_id = int(open_zone[0]["id"])
    profile = Path(tempfile.mkdtemp(prefix="cp-e2e-drill-"))
    browser = Browser(profile)
    try:
        page = browser.open(STACK.api_url)
        switch = "document.querySelector('select.drill-switch')"
        listed = f"{switch} && [...{switch}.options].some((o) => o.value === {drill_id!r})"
        sign_in(page, OPERATOR, OPERATOR_PASSWORD, listed)
        assert page.js("!!document.querySelector('.drill-banner')") is False  # the live city
        page.js(f"{switch}.value = {drill_id!r};"
                f" {switch}.dispatchEvent(new Event('change')); true")  # fmt: skip
        item = f"document.querySelector('[data-drill-alert=\"{alert_id}\"]')"
        ready = "document.body.dataset.ready === 'true'"
        wait_for(lambda: shows(page, f"location.search === '?drill={drill_id}' && {ready}"
                               f" && {item}"), 30, "the drill's page")  # fmt: skip
        banner = page.js("document.querySelector('.drill-banner').textContent")
        assert "훈련" in banner and drill_id in banner, banner
        assert page.js("document.body.classList.contains('drill-mode')") is True
        page.js(f"{item}.querySelector('button.drill-ack').click(); true")
        ticks = f"{item}.querySelector('input[data-drill-playbook-action]')"
        page.wait(f"{item} && {item}.dataset.acknowledgedBy === {OPERATOR!r} && {ticks}"
                  f" && !{ticks}.disabled", 20, "the acknowledgement")  # fmt: skip
        key = str(page.js(f"{ticks}.dataset.drillPlaybookAction"))
        page.js(f"{ticks}.click(); true")
        first = f"{item}.querySelector('input[data-drill-playbook-action=\"{key}\"]')"
        page.wait(f"{first} && {first}.checked && !{first}.disabled"
                  f" && {item}.querySelector('[data-drill-action=\"playbook.tick\"]')", 20,
                  "the ticked action in the drill's record")  # fmt: skip
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    return alert_id, key


def test_two_drills_rehearse_a_crush_without_touching_the_live_city(
    stack: dict[str, str], kannel: tuple[Path, KannelGatewaySettings]
) -> None:
    kannel_dir, _ = kannel
    before = live_snapshot()
    began = time.monotonic()
    for drill_id, numbers in DRILLS.items():
        args = ["drill", "start", "alley_crush", "--speed", "60", "--seed", SEED, "--start",
                START, "--id", drill_id, "--areas", "10", "--duration-min", "75"]  # fmt: skip
        for number, lang in numbers.items():
            args += ["--recipient", f"{number}:1:{lang}"]
        started = cli(stack, *args, timeout=120)
        assert started.returncode == 0, started.stdout + started.stderr

    def explain() -> str:
        return "\n".join(cli(stack, "drill", "status", d).stdout for d in DRILLS)

    for drill_id in DRILLS:

        def reached(d: str = drill_id) -> bool:
            stages = zone_stages(d)
            return "경계" in stages and "심각" in stages

        wait_for(reached, 120 - (time.monotonic() - began),
                 f"drill {drill_id}: 경계 and 심각 for {ZONE}", explain)  # fmt: skip
    reached_s = time.monotonic() - began
    assert reached_s < 120

    # The texts went through Kannel, to each drill's own numbers only, every one marked.
    def serious_texted() -> bool:
        sent = kannel_sent(kannel_dir)
        return all(any("심각" in s.text for s in texts_to(sent, n)) for n in DRILLS.values())

    def simulations_done() -> bool:
        return all("simulator  stopped" in cli(stack, "drill", "status", d).stdout for d in DRILLS)

    wait_for(serious_texted, 60, "the drills' 심각 texts through Kannel",
             lambda: str(kannel_sent(kannel_dir)))  # fmt: skip
    # While the crushed alley's 심각 alert is open, an operator acts in the first drill from
    # the page (acknowledging changes no decision: the drills still compare below).
    acted = time.monotonic()
    alert_id, key = operator_acts_in_the_drill(next(iter(DRILLS)))
    acted_s = time.monotonic() - acted
    # Both simulations finish (75 simulated minutes), then their last states settle.
    wait_for(simulations_done, 120, "the drills' simulators to finish", explain)
    time.sleep(5)

    sent = kannel_sent(kannel_dir)
    assert sent, "Kannel sent nothing"
    drill_numbers = {n: lang for numbers in DRILLS.values() for n, lang in numbers.items()}
    assert {s.to for s in sent} <= set(drill_numbers), [s.to for s in sent]
    assert not {s.to for s in sent} & LIVE_NUMBERS
    for s in sent:  # an LMS comes as "[subject]\nbody": its subject is the marker's word
        marker = "[DRILL]" if drill_numbers[s.to] == "en" else "[훈련]"
        assert s.text.startswith(marker), s
        assert s.text.removeprefix(marker + "\n").startswith(marker + " "), s
    for numbers in DRILLS.values():
        ko = [s.text for s in texts_to(sent, numbers) if numbers[s.to] == "ko"]
        assert any("경계" in t for t in ko) and any("심각" in t for t in ko), ko

    # Same scenario and seed: the same decisions; new event ids: no duplicate, no future.
    a, b = (drill.decisions(drill.drill_stack(STACK, d)) for d in DRILLS)
    assert a and a == b, (a, b)
    assert [d for d in a if d[:2] == (AREA, ZONE)], a
    for drill_id in DRILLS:
        dead = dict(drill_rows(drill_id, "SELECT reason, count FROM {s}.dead_letter_counts"))
        assert not {"duplicate", "future_time"} & set(dead), dead
        bodies = drill.with_conn(drill.drill_stack(STACK, drill_id).db_conninfo, outbox.bodies)
        assert bodies and all(b.startswith(("[훈련] ", "[DRILL] ")) for b in bodies), bodies

    assert live_snapshot() == before

    # The page's view of a drill: its incident record, in simulated time (2026-06-13),
    # with what the operator did there: the acknowledgement and the tick, each at its
    # simulated time, the wall time beside it, the person and the drill named.
    first = next(iter(DRILLS))
    record = operator_get(f"/api/v1/drills/{first}")
    zone_alerts = [a for a in record["alerts"] if a["zone_id"] == ZONE]
    assert zone_alerts and zone_alerts[0]["opened_at"].startswith("2026-06-13"), record
    acked = next(a for a in record["alerts"] if a["id"] == alert_id)
    assert acked["acknowledged_by"] == OPERATOR, acked
    assert acked["acknowledged_at"].startswith("2026-06-13"), acked
    lines = {x["action"]: x for x in record["actions"] if x["target"] == str(alert_id)}
    assert {"alert.acknowledge", "playbook.tick"} <= set(lines), record["actions"]
    for line in lines.values():
        assert line["actor"] == OPERATOR and line["data"]["drill"] == first, line
        assert line["at"].startswith("2026-06-13"), line  # simulated
        assert line["data"]["wall_at"][:10] == datetime.now(UTC).date().isoformat(), line
    assert lines["playbook.tick"]["data"]["action_key"] == key
    # The same record as live incidents get (dashboard_api/record), in simulated time.
    entries = operator_get(f"/api/v1/drills/{first}/alerts/{alert_id}/record")["entries"]
    kinds = {(e["kind"], e["time"][:10]) for e in entries if OPERATOR in e["who"]}
    assert {("acknowledgement", "2026-06-13"), ("action", "2026-06-13")} <= kinds, entries
    assert {d["id"] for d in operator_get("/api/v1/drills")} == set(DRILLS)

    # Kannel's delivery reports for the drills' texts reach the drills' outboxes.
    for drill_id in DRILLS:
        wait_for(lambda d=drill_id: drill_texts_delivered(d), 60,
                 f"drill {drill_id}'s texts delivered",
                 lambda d=drill_id: str(drill_rows(d, STATUSES)))  # fmt: skip
    assert live_snapshot() == before
    sys.stderr.write(
        f"drill e2e: 경계 and 심각 in {reached_s:.1f} s; the page's "
        f"acknowledgement and tick in {acted_s:.1f} s\n"
    )

    for drill_id in DRILLS:
        stopped = cli(stack, "drill", "stop", drill_id, "--drop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    with psycopg.connect(STACK.db_conninfo) as conn:
        left = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'drill\\_%'"
        ).fetchall()
    assert left == []
