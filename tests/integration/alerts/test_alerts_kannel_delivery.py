"""Alert SMS through real Kannel: delivered and reported back; exactly once across a
dispatcher killed with SIGKILL mid-burst and across a Kannel outage.

Counts are taken at Kannel's side (bearerbox's access log: one "Sent SMS" line per
submit the carrier acknowledged) and in the outbox. The outage lasts
CITYPULSE_TEST_KANNEL_OUTAGE_S seconds (default 120, the two minutes the alerts issue
asks for; set it lower for a quicker local run).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from alerts.dispatcher import OutboxDispatcher, RetryPolicy
from alerts.providers.kannel_dlr import dlr_signature
from alerts.providers.settings import SmsSettings, build_provider
from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.config import StackSettings
from citypulse.domain.area_state import AreaState
from tests.integration.alerts.conftest import (
    DLR_SECRET,
    DlrReceiver,
    Kannel,
    sms_env,
    start_dispatcher,
)

pytestmark = [pytest.mark.integration, pytest.mark.kannel]

AREAS = {"POI004": AreaInfo("POI004", "이태원 관광특구", "Itaewon", "용산구")}
DB = psycopg.Connection[tuple[object, ...]]
# Test dispatchers re-claim quickly; production keeps the 30 s lease.
FAST = {"CITYPULSE_DISPATCH_LEASE_S": "3", "CITYPULSE_DISPATCH_UNCERTAIN_GRACE_S": "10",
        "CITYPULSE_DISPATCH_MAX_S": "4"}  # fmt: skip
OUTAGE_S = float(os.environ.get("CITYPULSE_TEST_KANNEL_OUTAGE_S", "120"))


def _state(t: datetime, density: float, seq: int) -> AreaState:
    return AreaState(
        scope="zone", area_code="POI004", zone_id="alley-1", as_of=t, people=density * 180,
        walkable_m2=180.0, density_per_m2=density, stage="alert", stage_ko="경계", seq=seq,
    )  # fmt: skip


def _add_recipients(db: DB, n: int) -> list[str]:
    phones = [f"+821055{i:06d}" for i in range(1, n + 1)]
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO recipients (name, phone_e164, tier, districts) VALUES (%s, %s, 1, %s)",
            [(f"용산구 관제 {i}", p, ["용산구"]) for i, p in enumerate(phones)],
        )
    return phones


async def _fire_alert(settings: StackSettings) -> None:
    service = AlertService(settings.db_conninfo, AREAS, AlertSettings(stage_hold_s=0))
    now = datetime.now(UTC)
    await service.start(now)
    decisions = await service.on_state(_state(now, 3.4, 1), now)
    await service.close()
    assert [type(d).__name__ for d in decisions] == ["Fire"]


def _outbox(db: DB) -> Counter[str]:
    return Counter(str(s) for (s,) in db.execute("SELECT status FROM sms_outbox").fetchall())


def _sent_to(kannel: Kannel) -> Counter[str]:
    return Counter(re.sub(r"\D", "", to)[-8:] for to in kannel.sent_destinations())


async def _wait(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


async def test_alert_sms_reaches_kannel_and_its_report_marks_it_delivered(
    isolated: StackSettings, db: DB, kannel: Kannel, dlr_receiver: DlrReceiver
) -> None:
    _add_recipients(db, 1)
    await _fire_alert(isolated)
    sms = SmsSettings.model_validate(
        {
            k.removeprefix("CITYPULSE_SMS_").lower(): v
            for k, v in sms_env(kannel, dlr_receiver.url).items()
        }
    )
    dispatcher = OutboxDispatcher(isolated.db_conninfo, lambda sink: build_provider(sms, sink))
    assert await dispatcher.dispatch_once() == 1
    await dispatcher.aclose()
    await _wait(lambda: _outbox(db) == {"delivered": 1}, 30, "the delivery report")
    (body,) = db.execute("SELECT body FROM sms_outbox").fetchone() or ("",)
    assert "[인파경계] 이태원 관광특구 alley-1 3.4명/㎡" in str(body)
    assert [r.status for r in dlr_receiver.reports] == ["at_smsc", "delivered"]
    reports = db.execute("SELECT status FROM delivery_reports ORDER BY id").fetchall()
    assert reports == [("at_smsc",), ("delivered",)]
    assert list(_sent_to(kannel).values()) == [1]


def _dispatcher(settings: StackSettings, kannel: Kannel, dlr_url: str) -> OutboxDispatcher:
    env = sms_env(kannel, dlr_url)
    sms = SmsSettings.model_validate(
        {k.removeprefix("CITYPULSE_SMS_").lower(): v for k, v in env.items()}
    )
    return OutboxDispatcher(settings.db_conninfo, lambda sink: build_provider(sms, sink))


async def test_forged_reports_are_refused_and_change_nothing(
    isolated: StackSettings, db: DB, kannel: Kannel, dlr_receiver: DlrReceiver
) -> None:
    _add_recipients(db, 1)
    await _fire_alert(isolated)
    dispatcher = _dispatcher(isolated, kannel, dlr_receiver.url)
    assert await dispatcher.dispatch_once() == 1
    await _wait(lambda: _outbox(db) == {"delivered": 1}, 30, "the real report")
    (sent_id,) = db.execute("SELECT id FROM sms_outbox").fetchone() or (0,)
    # A message written but not yet handed to Kannel: what a forged "queued" would stall.
    (pending_id,) = db.execute(
        "INSERT INTO sms_outbox (phone_e164, kind, body) VALUES ('+821055000099', 'sms', "
        "'[인파경계] test') RETURNING id"
    ).fetchone() or (0,)
    before = (_outbox(db), db.execute("SELECT count(*) FROM delivery_reports").fetchone())
    received = len(dlr_receiver.reports)

    def sig(message_id: object) -> str:
        return dlr_signature(DLR_SECRET, str(message_id))

    forged = [
        ({"message_id": pending_id, "type": 8}, 403),  # unsigned "queued": the attack
        ({"message_id": pending_id, "type": 16}, 403),  # unsigned "rejected"
        ({"message_id": pending_id, "type": 16, "sig": sig(sent_id)}, 403),  # another id's sig
        ({"message_id": sent_id, "type": 2, "sig": sig("guess")}, 403),
        ({"message_id": sent_id, "type": 2, "sig": ""}, 403),
        ({"message_id": pending_id, "type": 8, "sig": sig(pending_id)}, 404),  # never handed over
        ({"message_id": 10**12, "type": 16, "sig": sig(10**12)}, 404),  # no such message
        ({"message_id": "x y", "type": 8}, 400),
    ]
    async with httpx.AsyncClient() as client:
        for params, code in forged:
            answer = await client.get(dlr_receiver.url, params=params)
            assert answer.status_code == code, (params, answer.text)
    after = (_outbox(db), db.execute("SELECT count(*) FROM delivery_reports").fetchone())
    assert after == before and len(dlr_receiver.reports) == received
    # The pending message was not stalled: it goes out and its real reports land.
    assert await dispatcher.dispatch_once() == 1
    await dispatcher.aclose()
    await _wait(lambda: _outbox(db) == {"delivered": 2}, 30, "the second real report")
    statuses = db.execute(
        "SELECT status FROM delivery_reports WHERE outbox_id = %s ORDER BY id", (pending_id,)
    ).fetchall()
    assert statuses == [("at_smsc",), ("delivered",)]


async def test_dispatcher_killed_mid_burst_sends_every_message_exactly_once(
    isolated: StackSettings, db: DB, kannel: Kannel, dlr_receiver: DlrReceiver, tmp_path: Path
) -> None:
    phones = _add_recipients(db, 1000)
    await _fire_alert(isolated)  # one alert, 1,000 outbox rows in its transaction
    assert _outbox(db) == {"pending": 1000}
    log = tmp_path / "dispatcher.log"
    first = start_dispatcher(isolated, kannel, dlr_receiver.url, log, **FAST)
    handed = "SELECT count(*) FROM sms_outbox WHERE handed_over_at IS NOT NULL"
    await _wait(lambda: (db.execute(handed).fetchone() or (0,))[0] >= 300, 60, "300 sends")
    first.send_signal(signal.SIGKILL)
    first.wait()
    mid = _outbox(db)
    assert mid["delivered"] + mid["sent"] < 1000, f"killed too late to prove anything: {mid}"
    second = start_dispatcher(isolated, kannel, dlr_receiver.url, log, **FAST)
    try:
        await _wait(lambda: _outbox(db) == {"delivered": 1000}, 180, "1,000 delivered")
        await asyncio.sleep(2)  # anything sent twice would reach the carrier by now
    finally:
        second.terminate()
        second.wait(20)
    at_kannel = _sent_to(kannel)
    assert sorted(at_kannel) == sorted(p[-8:] for p in phones)
    assert set(at_kannel.values()) == {1}, "some recipient got the alert twice"
    per_row = db.execute(
        "SELECT count(*) FILTER (WHERE status = 'delivered') FROM delivery_reports "
        "GROUP BY outbox_id"
    ).fetchall()
    assert len(per_row) == 1000 and {n for (n,) in per_row} == {1}


async def test_kannel_outage_during_burst_sends_everything_after_once(
    isolated: StackSettings, db: DB, kannel: Kannel, dlr_receiver: DlrReceiver, tmp_path: Path
) -> None:
    phones = _add_recipients(db, 300)
    log = tmp_path / "dispatcher.log"
    dispatcher = start_dispatcher(isolated, kannel, dlr_receiver.url, log, **FAST)
    try:
        await _fire_alert(isolated)
        await _wait(lambda: sum(_sent_to(kannel).values()) >= 50, 60, "the burst to start")
        await asyncio.to_thread(kannel.stop)
        stopped_at = time.monotonic()
        during = _outbox(db)
        await asyncio.sleep(OUTAGE_S)
        assert during["pending"] + during["sending"] > 0, f"burst over before the outage: {during}"
        errors = db.execute(
            "SELECT count(*) FROM sms_outbox WHERE last_error LIKE '%%unreachable%%'"
        ).fetchone()
        assert errors is not None and int(str(errors[0])) > 0  # it did try while Kannel was down
        assert _outbox(db)["failed"] == 0
        await asyncio.to_thread(kannel.start)
        await _wait(lambda: _outbox(db) == {"delivered": 300}, 120, "300 delivered")
        assert time.monotonic() - stopped_at >= OUTAGE_S
    finally:
        dispatcher.terminate()
        dispatcher.wait(20)
    at_kannel = _sent_to(kannel)
    assert sorted(at_kannel) == sorted(p[-8:] for p in phones)
    assert set(at_kannel.values()) == {1}, "a message went out twice"


def test_retry_policy_reads_dispatch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in FAST.items():
        monkeypatch.setenv(k, v)
    p = RetryPolicy()
    assert (p.lease_s, p.uncertain_grace_s, p.max_s) == (3.0, 10.0, 4.0)
    assert timedelta(seconds=p.lease_s) < timedelta(
        seconds=RetryPolicy.model_fields["lease_s"].default
    )
