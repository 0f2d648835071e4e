"""`citypulse up` on a fresh database, as `make up` runs it, with real Kannel as the SMS
gateway and Seoul's telecom feed silent from the start (the simulated city sends its zone
counters and S-DoT readings only): no crowd recipient is texted about a feed, the
technical on-call hears once about the silent source, and a real 경계 crowd reported by a
zone counter right after start-up reaches its recipients.

On the same stack, the people-and-response walk-through (issue 16) in Debian's Chromium:
an admin creates a district operator and an SMS recipient in the page; a 경계 crowd in
that district texts the new recipient through Kannel; the operator signs in, sees the
playbook on the alert, acknowledges it and ticks an action; the incident record lists the
SMS, its delivery report, the acknowledgement and the action in that order, and its PDF
renders (pdftoppm).

Counts are Kannel's: bearerbox's access log has one "Sent SMS" line per submit the
carrier stand-in took, with the text (hex UCS-2 for Korean).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from citypulse.config import REPO_ROOT, StackSettings
from citypulse.processes import port_open
from infra.kannel import gateway
from infra.kannel.settings import KannelGatewaySettings
from sensors.events import ZoneCount
from sensors.publisher import KafkaEventPublisher
from sensors.registry import load_hotspots
from tests.e2e.browser import Browser, Page, fill_and_submit, sign_in
from tests.e2e.support import cli
from tests.integration.support import settings_env, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kannel, pytest.mark.timeout(900)]

STACK = StackSettings(
    env="test", var_dir=REPO_ROOT / "var" / "e2e" / "startup", kafka_port=30092,
    kafka_controller_port=30093, db_port=30432, api_port=30000,
)  # fmt: skip
SIMULATED_AREAS = 20  # the first 20 hotspots; the crowd is reported in one beyond them
GRACE_S = 30  # CITYPULSE_ALERT_STARTUP_GRACE_S, shortened from 300 for the test
FEED_WINDOW_S = 30  # CITYPULSE_ALERT_FEED_OUTAGE_WINDOW_S, shortened from 120
# seed_demo_recipients: three crowd tiers and the technical on-call.
CROWD = {1: "+821000000001", 2: "+821000000002", 3: "+821000000003"}
TECHNICAL = "+821000000009"
ALERT_DENSITY = 3.6  # persons/m²: 경계 (3-5/m²) under the default thresholds

_SENT = re.compile(
    r"Sent SMS \[SMSC:[^\]]*\].*?\[to:(?P<to>[^\]]*)\] \[flags:-?\d+:(?P<coding>-?\d+):[^\]]*\]"
    r" \[msg:\d+:(?P<msg>.*?)\] \[udh:"
)


@dataclass(frozen=True)
class Sms:
    to: str
    text: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kannel_sent(kannel_dir: Path) -> list[Sms]:
    """Every submit the carrier took, decoded (coding 2: UCS-2 in hex)."""
    log = kannel_dir / "log" / "access.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    ucs2 = {m.start(): m["coding"] == "2" for m in _SENT.finditer(text)}
    return [
        Sms(m["to"], bytes.fromhex(m["msg"]).decode("utf-16-be") if ucs2[m.start()] else m["msg"])
        for m in _SENT.finditer(text)
    ]


def is_feed_message(text: str) -> bool:
    # alerts/messages/templates.py: data-gap and data-quality texts, ko and en.
    tags = ("[데이터중단]", "[데이터이상]", "[DATA GAP]", "[DATA QUALITY]")
    return any(tag in text for tag in tags)


def is_alert_about(text: str, area_name: str) -> bool:
    # Alone ("[인파경계] <area> ...") or in its district's grouped message, if a simulated
    # crowd of the same district fired within the grouping window ("<area> 경계 ...").
    return area_name in text and "경계" in text


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
    var_dir = REPO_ROOT / "var" / "e2e" / "startup-kannel"  # outside STACK's: wiped below
    shutil.rmtree(var_dir, ignore_errors=True)  # a fresh access log
    gateway.start(var_dir, settings)
    yield var_dir, settings
    gateway.stop(var_dir)


@pytest.fixture(scope="module")
def stack(kannel: tuple[Path, KannelGatewaySettings]) -> Iterator[dict[str, str]]:
    _, k = kannel
    env = {
        **os.environ, **settings_env(STACK), "WEB_PORT": "30068",
        "CITYPULSE_SMS_PROVIDER": "kannel",
        "CITYPULSE_SMS_KANNEL_SENDSMS_URL": k.sendsms_url,
        "CITYPULSE_SMS_KANNEL_USERNAME": k.sendsms_username,
        "CITYPULSE_SMS_KANNEL_PASSWORD": k.sendsms_password.get_secret_value(),
        "CITYPULSE_SMS_DLR_CALLBACK_URL": f"{STACK.api_url}/sms/dlr/kannel",
        "CITYPULSE_SIMULATE_AREAS": str(SIMULATED_AREAS),
        "CITYPULSE_SIMULATE_FEEDS": "zone_count,environment_reading",  # no telecom at all
        "CITYPULSE_ALERT_STARTUP_GRACE_S": str(GRACE_S),
        "CITYPULSE_ALERT_FEED_OUTAGE_WINDOW_S": str(FEED_WINDOW_S),
    }  # fmt: skip
    cli(env, "down")  # a stack left by an interrupted run holds the data dir
    shutil.rmtree(STACK.var_dir, ignore_errors=True)  # a fresh database and broker
    # A stack killed just before (it.sh clears the machine's test services) may still
    # hold its ports for a moment.
    ports = (STACK.db_port, STACK.kafka_port, STACK.kafka_controller_port, STACK.api_port)
    wait_for(lambda: not any(port_open("127.0.0.1", p) for p in ports), 60,
             f"ports {ports} to be free")  # fmt: skip
    try:
        up = cli(env, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        yield env
    finally:  # also after a failed `up`: supervisord's programs outlive a killed supervisord
        cli(env, "down")


def a_zone_beyond_the_simulated_city(
    not_in: tuple[str, ...] = (),
) -> tuple[str, str, str, float]:
    """(area code, area name, zone id, walkable m²) of a registered zone nobody reports on,
    not a narrow alley (stricter thresholds), outside the areas `not_in`."""
    codes = [h.code for h in load_hotspots()[SIMULATED_AREAS:] if h.code not in not_in]
    with psycopg.connect(STACK.db_conninfo) as conn:
        row = conn.execute(
            "SELECT z.area_code, a.name_ko, z.zone_id, z.walkable_m2 FROM zones z"
            " JOIN areas a ON a.code = z.area_code WHERE z.area_code = ANY(%s)"
            " AND z.thresholds IS NULL ORDER BY z.walkable_m2 DESC LIMIT 1",
            (codes,),
        ).fetchone()
    assert row is not None, "no zone registered beyond the simulated areas"
    return str(row[0]), str(row[1]), str(row[2]), float(str(row[3]))


class ZoneCounter(threading.Thread):
    """A people counter reporting one zone's count every few seconds, as a sensor would."""

    def __init__(self, area: str, zone: str, walkable_m2: float, people: int) -> None:
        super().__init__(daemon=True)
        self.area, self.zone, self.walkable_m2, self.people = area, zone, walkable_m2, people
        self.ids = f"e2e-{area}-{zone}"  # event ids unique per counter
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        pub = KafkaEventPublisher(STACK.kafka_bootstrap, STACK.topic("city-events.v1"))
        try:
            n = 0
            while not self.stop.is_set():
                now = datetime.now(UTC)
                pub.publish(ZoneCount(
                    event_id=f"{self.ids}-{n}", source="e2e-counter", event_time=now,
                    ingest_time=now, area_code=self.area, zone_id=self.zone,
                    counter_id=f"{self.zone}-e2e", count=self.people,
                    walkable_m2=self.walkable_m2,
                ))  # fmt: skip
                n += 1
                self.stop.wait(5)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            pub.close()


def outbox_rules(phones: list[str]) -> list[tuple[str, str, str]]:
    with psycopg.connect(STACK.db_conninfo) as conn:
        rows = conn.execute(
            "SELECT o.phone_e164, a.rule, a.dedup_key FROM sms_outbox o"
            " JOIN alerts a ON a.id = o.alert_id WHERE o.phone_e164 = ANY(%s) ORDER BY o.id",
            (phones,),
        ).fetchall()
    return [(str(p), str(r), str(k)) for p, r, k in rows]


def delivered(area: str) -> bool:
    with psycopg.connect(STACK.db_conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM sms_outbox o JOIN alerts a ON a.id = o.alert_id"
            " WHERE a.area_code = %s AND a.rule = 'stage' AND o.status = 'delivered'",
            (area,),
        ).fetchone()
    return row is not None and int(str(row[0])) >= 1


def test_start_up_is_quiet_and_a_real_alert_still_goes(
    stack: dict[str, str], kannel: tuple[Path, KannelGatewaySettings]
) -> None:
    kannel_dir, _ = kannel
    area, area_name, zone, walkable = a_zone_beyond_the_simulated_city()
    counter = ZoneCounter(area, zone, walkable, round(ALERT_DENSITY * walkable))
    counter.start()  # right after start-up: inside the start-up grace
    try:

        def to(number: str) -> list[str]:
            return [s.text for s in kannel_sent(kannel_dir) if s.to == number]

        # The silent telecom feed is announced once the grace is over, then the crowd.
        wait_for(lambda: any(is_feed_message(t) for t in to(TECHNICAL)), GRACE_S + 180,
                 "the technical on-call's message about the silent feed",
                 lambda: str(kannel_sent(kannel_dir)))  # fmt: skip
        wait_for(lambda: any(is_alert_about(t, area_name) for t in to(CROWD[1])), 180,
                 f"the 경계 SMS about {area_name} to the district room",
                 lambda: str(kannel_sent(kannel_dir)))  # fmt: skip
        # ... and the carrier's delivery report came back to the outbox.
        wait_for(lambda: delivered(area), 60, f"the delivery report of the 경계 about {area}")
        # Held per-area gaps leave after the feed window: give stragglers that long again.
        time.sleep(FEED_WINDOW_S + 15)
    finally:
        counter.stop.set()
        counter.join(10)
    assert counter.error is None, counter.error

    sent = kannel_sent(kannel_dir)
    crowd_texts = [s.text for s in sent if s.to in CROWD.values()]
    assert not [t for t in crowd_texts if is_feed_message(t)], crowd_texts
    # ... nor queued for them: the outbox holds no feed or data-quality row for a crowd room.
    crowd_rows = outbox_rules(list(CROWD.values()))
    assert not [r for r in crowd_rows if r[1] in ("data_gap", "data_quality")], crowd_rows

    technical = [s.text for s in sent if s.to == TECHNICAL]
    gaps = [t for t in technical if is_feed_message(t)]
    # One silent source (telecom, for every simulated area): one message, naming it.
    assert len(gaps) == 1, technical
    assert "통신사 인구 피드" in gaps[0], gaps
    assert [k for _, r, k in outbox_rules([TECHNICAL]) if r == "data_gap"] == [
        "feed.telecom:data_gap"
    ]
    # The crowd's 경계 reached the district room once, and is not a technical message.
    alert = [t for t in crowd_texts if is_alert_about(t, area_name)]
    assert len(alert) == 1, crowd_texts
    assert not [t for t in technical if "[인파" in t], technical


GU_OPERATOR = "gu-operator"
GU_PASSWORD = "Seoul-district-e2e-2026"  # noqa: S105 (a test account; not the username)
NEW_RECIPIENT = ("구청 상황실 e2e", "010-5555-0101", "+821055550101")


def sign_in_as(page: Page, user: str, password: str) -> None:
    sign_in(page, user, password, "!document.getElementById('alert-panel').hidden")


def token(user: str, password: str) -> str:
    r = httpx.post(f"{STACK.api_url}/api/v1/auth/token",
                   data={"username": user, "password": password}, timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def open_stage_alert(area: str) -> int | None:
    with psycopg.connect(STACK.db_conninfo) as conn:
        row = conn.execute(
            "SELECT id FROM alerts WHERE area_code = %s AND rule = 'stage'"
            " AND stage IN ('alert', 'serious') AND status = 'open' ORDER BY id DESC LIMIT 1",
            (area,),
        ).fetchone()
    return int(str(row[0])) if row else None


def delivered_to(alert_id: int, phone: str) -> bool:
    with psycopg.connect(STACK.db_conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM sms_outbox WHERE alert_id = %s AND phone_e164 = %s"
            " AND status = 'delivered'",
            (alert_id, phone),
        ).fetchone()
    return row is not None and int(str(row[0])) >= 1


def test_people_playbook_and_the_record_in_the_page(stack: dict[str, str]) -> None:
    first_area = a_zone_beyond_the_simulated_city()[0]  # the start-up test's crowd
    area, area_name, zone, walkable = a_zone_beyond_the_simulated_city(not_in=(first_area,))
    district = next(h.district for h in load_hotspots() if h.code == area)
    name, phone, e164 = NEW_RECIPIENT
    profile = Path(tempfile.mkdtemp(prefix="cp-e2e-people-"))
    admin_browser, operator_browser = Browser(profile / "admin"), Browser(profile / "operator")
    counter = ZoneCounter(area, zone, walkable, round(ALERT_DENSITY * walkable))
    try:
        # The admin creates the district's operator and its SMS recipient in the page.
        page = admin_browser.open(STACK.api_url)
        sign_in_as(page, "admin", "admin-dev-password")
        page.wait("!document.getElementById('admin-toggle').hidden", 10, "the admin button")
        page.js("document.getElementById('admin-toggle').click(); true")
        page.wait("document.querySelector('form[data-form=\"new-account\"]')", 10,
                  "the new-account form")  # fmt: skip
        fill_and_submit(page, 'form[data-form="new-account"]', {
            "username": GU_OPERATOR, "display_name": f"{district} 상황실 김주무관",
            "password": GU_PASSWORD, "role": "operator", "agency": "district",
            "districts": district,
        })  # fmt: skip
        page.wait(f"document.querySelector('tr[data-username=\"{GU_OPERATOR}\"]')", 15,
                  "the new account in the list")  # fmt: skip
        page.js("document.querySelector('[data-tab=\"recipients\"]').click(); true")
        page.wait("document.querySelector('form[data-form=\"new-recipient\"]')", 10,
                  "the new-recipient form")  # fmt: skip
        fill_and_submit(page, 'form[data-form="new-recipient"]', {
            "name": name, "phone": phone, "tier": "1", "role": "crowd", "agency": "district",
            "language": "ko", "districts": district,
        })  # fmt: skip
        with psycopg.connect(STACK.db_conninfo) as conn:
            wait_for(lambda: conn.execute(
                "SELECT count(*) FROM recipients WHERE phone_e164 = %s AND agency = 'district'"
                " AND districts = ARRAY[%s]::text[]", (e164, district)).fetchone() == (1,),
                15, "the recipient row")  # fmt: skip

        # A 경계 crowd in the district texts the new recipient through Kannel.
        counter.start()
        wait_for(lambda: open_stage_alert(area) is not None, 240, f"a 경계 alert on {area}")
        alert_id = open_stage_alert(area)
        assert alert_id is not None
        wait_for(lambda: delivered_to(alert_id, e164), 120,
                 f"the delivery report of alert {alert_id} to the new recipient")  # fmt: skip

        # The district operator signs in, sees the playbook, acknowledges, ticks an action.
        op = operator_browser.open(STACK.api_url)
        sign_in_as(op, GU_OPERATOR, GU_PASSWORD)
        box = f"document.querySelector('[data-playbook-alert=\"{alert_id}\"]')"
        op.wait(f"{box} && {box}.querySelector('input[data-playbook-action]')", 30,
                "the playbook of the 경계 alert")  # fmt: skip
        assert op.js(f"{box}.querySelector('input[data-playbook-action]').disabled") is False
        item = f"document.querySelector('li[data-alert-id=\"{alert_id}\"]')"
        op.js(f"{item}.querySelector('.alert-actions button.ack').click(); true")
        op.wait(f"{item} && {item}.dataset.status === 'acknowledged'", 20, "the acknowledgement")
        key = op.js(f"{box}.querySelector('input[data-playbook-action]').dataset.playbookAction")
        first = f"{box}.querySelector('input[data-playbook-action=\"{key}\"]')"
        op.js(f"{first}.click(); true")
        op.wait(f"{first} && {first}.checked && !{first}.disabled", 20, "the ticked action")

        # The incident record: the SMS, its delivery, the acknowledgement, the action.
        auth = {"Authorization": f"Bearer {token(GU_OPERATOR, GU_PASSWORD)}"}
        record = httpx.get(f"{STACK.api_url}/api/v1/alerts/{alert_id}/record",
                           headers=auth, timeout=30).json()  # fmt: skip
        entries = record["entries"]

        def first_index(kind: str, *words: str) -> int:
            for i, e in enumerate(entries):
                if e["kind"] == kind and all(w in (e["who"] + " " + e["text"]) for w in words):
                    return i
            raise AssertionError(f"no {kind} entry with {words}: {entries}")

        sms = first_index("sms", name)
        delivery = first_index("delivery", name)
        ack = first_index("acknowledgement", GU_OPERATOR)
        # The acknowledgement's own operator_audit line is an "action" too: the tick's is
        # the one named playbook.tick.
        action = first_index("action", GU_OPERATOR, "playbook.tick")
        assert sms < delivery < ack < action, [
            (e["kind"], e["who"], e["text"][:60]) for e in entries
        ]
        assert phone not in json.dumps(record) and e164 not in json.dumps(record)

        pdf = httpx.get(f"{STACK.api_url}/api/v1/alerts/{alert_id}/record.pdf",
                        headers=auth, timeout=60)  # fmt: skip
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:200]
        (profile / "record.pdf").write_bytes(pdf.content)
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1",
                        str(profile / "record.pdf"), str(profile / "page")], check=True,
                       timeout=60)  # fmt: skip
        png = next(profile.glob("page*.png"))
        assert png.stat().st_size > 2_000  # a rendered page with text, not an empty one
        text = subprocess.run(["pdftotext", str(profile / "record.pdf"), "-"], check=True,
                              capture_output=True, text=True, timeout=60).stdout  # fmt: skip
        assert area_name in text and "경계" in text, text[:500]
    finally:
        counter.stop.set()
        if counter.is_alive():
            counter.join(10)
        admin_browser.close()
        operator_browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    assert counter.error is None, counter.error
