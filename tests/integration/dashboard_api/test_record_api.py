"""The record after an incident over the real database and API: an alert opened by the
alert path, its SMS sent through the outbox with a delivery report, acknowledged and
commented in the dashboard, a playbook tick in the operator audit; the record lists them
in that order with the figures stored at each decision, as JSON, CSV, PDF and by range."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from alerts.dispatcher import OutboxDispatcher
from alerts.providers.log_provider import LogProvider
from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.domain.area_state import AreaState
from tests.e2e.test_e2e_dashboard import Browser
from tests.integration.dashboard_api.conftest import PASSWORDS, TEST_PHONE, ApiStack

AREAS = {"POI004": AreaInfo("POI004", "이태원 관광특구", "Itaewon", "용산구")}


def _state(t: datetime, density: float) -> AreaState:
    return AreaState(
        scope="area", area_code="POI004", as_of=t, people=density * 1000, walkable_m2=1000.0,
        density_per_m2=density, stage="alert", stage_ko="경계", seq=1, trend_per_min=0.05,
    )  # fmt: skip


async def _incident(api_stack: ApiStack) -> tuple[int, datetime]:
    """A reading, an alert opened on it, its texts sent and reported, an acknowledgement
    and a comment in the dashboard, a playbook tick: (alert id, when it was decided)."""
    conninfo = api_stack.settings.db_conninfo
    now = datetime.now(UTC)
    with psycopg.connect(conninfo, autocommit=True) as db:
        # A reading as the worker stores it (stored_at: the column's default, migration 0018).
        db.execute(
            "INSERT INTO crowd_readings (area_code, source, origin, event_id, event_time, "
            "ingest_time, people) VALUES ('POI004', 'telecom', 'seoul_citydata', 'e1', %s, %s, "
            "3400)",
            (now - timedelta(seconds=40), now - timedelta(seconds=35)),
        )
    now = datetime.now(UTC)  # the decision comes after the reading is stored
    service = AlertService(conninfo, AREAS, AlertSettings(stage_hold_s=0))
    await service.start(now)
    fired = await service.on_state(_state(now, 3.4), now)
    assert [type(d).__name__ for d in fired] == ["Fire"]
    await service.close()
    dispatcher = OutboxDispatcher(conninfo, lambda sink: LogProvider(sink))
    assert await dispatcher.dispatch_once() >= 1
    await dispatcher.aclose()

    with psycopg.connect(conninfo, autocommit=True) as db:
        (alert_id,) = db.execute("SELECT id FROM alerts").fetchone() or (0,)
        assert db.execute("SELECT count(*) FROM delivery_reports").fetchone() != (0,)
    op = api_stack.auth("operator")
    base = f"{api_stack.base}/api/v1/alerts/{alert_id}"
    assert httpx.post(f"{base}/acknowledge", json={"note": "on my way"}, headers=op).is_success
    assert httpx.post(f"{base}/comment", json={"text": "=CCTV 3 queues"}, headers=op).is_success
    with psycopg.connect(conninfo, autocommit=True) as db:  # as the playbook route records it
        db.execute(
            "INSERT INTO operator_audit (actor, role, action, target, data) VALUES "
            "('operator', 'operator', 'playbook.tick', %s, '{\"item\": \"출구 통제\"}')",
            (str(alert_id),),
        )

    return int(str(alert_id)), now


async def test_the_record_lists_what_happened_in_order(api_stack: ApiStack, tmp_path: Path) -> None:
    alert_id, now = await _incident(api_stack)
    op = api_stack.auth("operator")
    base = f"{api_stack.base}/api/v1/alerts/{alert_id}"
    r = httpx.get(f"{base}/record", headers=op, timeout=30)
    assert r.status_code == 200, r.text
    record = r.json()
    entries = record["entries"]
    kinds = [(e["kind"], e["text"].split(":")[0]) for e in entries]
    times = [e["time"] for e in entries]
    assert times == sorted(times, key=datetime.fromisoformat)
    first = {k: kinds.index(k) for k in reversed(kinds)}  # first position of each
    order = [
        ("crowd", kinds[0][1]),
        ("decision", "opened"),
        ("decision", "sms_queued"),
        ("delivery", "delivery report"),
        ("acknowledgement", "acknowledged in the dashboard"),
        ("comment", "comment"),
        ("action", "playbook.tick " + str(alert_id)),
    ]
    assert all(k in first for k in order), kinds
    assert [first[k] for k in order] == sorted(first[k] for k in order), kinds
    opened = next(e for e in entries if e["text"].startswith("opened"))
    assert "3.40/m²" in opened["text"] and "3,400 people" in opened["text"]
    assert opened["who"] == "CityPulse" and opened["alert"] == f"A{alert_id}"
    crowd = entries[0]
    assert crowd["kind"] == "crowd" and "3,400 people by telecom" in crowd["text"]
    assert "stored time unknown" not in crowd["text"]  # stored_at was set by its default
    ack = next(e for e in entries if e["kind"] == "acknowledgement")
    assert ack["who"] == "operator" and "on my way" in ack["text"]
    assert any(e["kind"] == "action" and "alert.acknowledge" in e["text"] for e in entries)
    assert record["alerts"][0]["stage_ko"] == "경계"
    # An operator sees the number masked, an admin in full.
    assert TEST_PHONE not in r.text and "+82******2347" in r.text
    admin = httpx.get(f"{base}/record", headers=api_stack.auth("admin"), timeout=30)
    assert TEST_PHONE in admin.text
    assert httpx.get(f"{base}/record", headers=api_stack.auth("viewer1")).status_code == 403

    text = httpx.get(f"{base}/record.csv", headers=op, timeout=30).text
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(rows) == len(entries) + 1 and TEST_PHONE not in text
    assert ["comment", "comment: =CCTV 3 queues"] in [[row[2], row[6]] for row in rows]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    pdf = httpx.get(f"{base}/record.pdf", headers=op, timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "r.pdf").write_bytes(pdf.content)
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext missing: run scripts/bootstrap.sh"
    said = subprocess.run([tool, str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout  # fmt: skip
    assert "이태원 관광특구" in said and "경계" in said and TEST_PHONE not in said

    span = {"areas": "POI004", "from": (now - timedelta(minutes=5)).isoformat(),
            "to": (now + timedelta(minutes=5)).isoformat()}  # fmt: skip
    ranged = httpx.get(f"{api_stack.base}/api/v1/records", params=span, headers=op, timeout=30)
    assert ranged.status_code == 200, ranged.text
    assert [e["kind"] for e in ranged.json()["entries"]] == [e["kind"] for e in entries]
    before = {**span, "from": (now - timedelta(hours=2)).isoformat(),
              "to": (now - timedelta(hours=1)).isoformat()}  # fmt: skip
    empty = httpx.get(f"{api_stack.base}/api/v1/records", params=before, headers=op).json()
    assert (empty["alerts"], empty["entries"]) == ([], [])
    # Still open an hour on: the alert belongs to that range, its entries do not.
    later = {**span, "from": (now + timedelta(hours=1)).isoformat(),
             "to": (now + timedelta(hours=2)).isoformat()}  # fmt: skip
    still = httpx.get(f"{api_stack.base}/api/v1/records", params=later, headers=op).json()
    assert ([a["id"] for a in still["alerts"]], still["entries"]) == ([alert_id], [])


async def test_the_page_shows_the_record_and_prints_only_it(api_stack: ApiStack) -> None:
    alert_id, _ = await _incident(api_stack)
    kinds = [e["kind"] for e in httpx.get(
        f"{api_stack.base}/api/v1/alerts/{alert_id}/record", headers=api_stack.auth("operator"),
        timeout=30).json()["entries"]]  # fmt: skip
    profile = Path(tempfile.mkdtemp(prefix="cp-record-"))
    browser = Browser(profile)
    try:
        page = browser.open(f"{api_stack.base}/")
        page.js(
            "document.getElementById('user').value='operator';"
            f"document.getElementById('pass').value='{PASSWORDS['operator']}';"
            "document.getElementById('login').requestSubmit(); true"
        )
        button = f"document.querySelector('li[data-alert-id=\"{alert_id}\"] button.record')"
        page.wait(button, 20, "the alert's record button")
        page.js(f"{button}.click(); true")
        page.wait("document.querySelector('#record-view [data-record-entry]')", 20, "the record")
        shown = page.js(
            "[...document.querySelectorAll('#record-view [data-record-entry]')]"
            ".map((r) => r.dataset.kind)"
        )
        assert shown == kinds
        text = page.js("document.getElementById('record-view').innerText")
        assert f"A{alert_id}" in text and "이태원 관광특구" in text and TEST_PHONE not in text
        page.call("Emulation.setEmulatedMedia", media="print")
        display = page.js(
            "['header', 'main', '#record-view'].map((q) =>"
            " getComputedStyle(document.querySelector(q)).display)"
        )
        assert display[:2] == ["none", "none"] and display[2] != "none", display
        assert page.js("getComputedStyle(document.querySelector('.record-toolbar')).display") == (
            "none"
        )
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
