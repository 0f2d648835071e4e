"""Alert + outbox in one transaction, then the dispatcher sends once and records delivery."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from alerts.dispatcher import APPLICATION_NAME, OutboxDispatcher
from alerts.providers.log_provider import LogProvider
from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.config import StackSettings
from citypulse.domain.area_state import AreaState

AREAS = {"POI004": AreaInfo("POI004", "이태원 관광특구", "Itaewon", "용산구")}
T0 = datetime.now(UTC).replace(microsecond=0)


def _state(t_s: float, density: float, seq: int) -> AreaState:
    return AreaState(
        scope="zone", area_code="POI004", zone_id="alley-1", as_of=T0 + timedelta(seconds=t_s),
        people=density * 500, walkable_m2=500.0, density_per_m2=density, stage="alert",
        stage_ko="경계", seq=seq,
    )  # fmt: skip


async def test_alert_opens_once_and_its_sms_is_delivered_exactly_once(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    db.execute(
        "INSERT INTO recipients (name, phone_e164, tier, districts) VALUES "
        "('용산구 CCTV', '+821012345678', 1, '{용산구}'), "
        "('other district', '+821087654321', 1, '{강남구}'), "
        "('city room', '+821011112222', 2, '{}')"
    )
    service = AlertService(isolated.db_conninfo, AREAS, AlertSettings(stage_hold_s=30))
    await service.start(T0)
    assert await service.on_state(_state(0, 3.4, 1), T0) == []  # hold not yet over
    fired = await service.on_state(_state(40, 3.4, 2), T0)
    assert [type(d).__name__ for d in fired] == ["Fire"]
    assert await service.on_state(_state(80, 3.6, 3), T0) == []  # one open alert per key
    # A second worker restored from the database does not open it again either.
    other = AlertService(isolated.db_conninfo, AREAS, AlertSettings(stage_hold_s=30))
    await other.start(T0)
    assert await other.on_state(_state(120, 3.6, 4), T0) == []
    await service.close()
    await other.close()

    alerts = db.execute("SELECT id, dedup_key, status, stage, tier FROM alerts").fetchall()
    assert [a[1:] for a in alerts] == [("POI004/alley-1:stage", "open", "alert", 1)]
    outbox = db.execute("SELECT alert_id, phone_e164, kind, body FROM sms_outbox").fetchall()
    # Tier 1 of 용산구 only; written with the alert (same transaction). The 경계 text names
    # the first action of the seeded playbook for the recipient's agency (city): an LMS.
    assert [(a, p, k) for a, p, k, _ in outbox] == [(alerts[0][0], "+821012345678", "lms")]
    assert "이태원 관광특구 alley-1" in str(outbox[0][3]) and "경계" in str(outbox[0][3])
    assert str(outbox[0][3]).endswith("조치: 서울시 재난안전상황실 보고 및 상황 공유")
    assert f"#A{alerts[0][0]}" in str(outbox[0][3])
    actions = [a for (a,) in db.execute("SELECT action FROM alert_audit ORDER BY id").fetchall()]
    assert actions == ["opened", "sms_queued"]

    dispatcher = OutboxDispatcher(isolated.db_conninfo, lambda sink: LogProvider(sink))
    depth = [await _outbox_depth(dispatcher, isolated)]
    sent = await dispatcher.dispatch_once()
    again = await dispatcher.dispatch_once()
    await dispatcher.aclose()
    depth.append(await _outbox_depth(dispatcher, isolated))
    assert (sent, again) == (1, 0)
    assert db.execute("SELECT status, attempts FROM sms_outbox").fetchall() == [("delivered", 1)]
    reports = db.execute("SELECT status FROM delivery_reports").fetchall()
    assert reports == [("delivered",)]
    # The dispatcher's metrics saw the same: one waiting, one accepted, one report.
    assert depth == [{"pending": 1.0, "sending": 0.0}, {"pending": 0.0, "sending": 0.0}]
    samples = [
        s for f in text_string_to_metric_families(dispatcher.metrics.render().decode())
        for s in f.samples
    ]  # fmt: skip
    values = {(s.name, tuple(sorted(s.labels.values()))): s.value for s in samples}
    assert values[("citypulse_sms_sent_total", ("log",))] == 1
    assert values[("citypulse_sms_send_seconds_count", ("log",))] == 1
    assert values[("citypulse_sms_delivery_reports_total", ("delivered",))] == 1


async def _outbox_depth(dispatcher: OutboxDispatcher, settings: StackSettings) -> dict[str, float]:
    async with await psycopg.AsyncConnection.connect(settings.db_conninfo) as conn:
        await dispatcher.metrics.sample_outbox(conn)
    text = dispatcher.metrics.render().decode()
    family = next(
        f for f in text_string_to_metric_families(text) if f.name == "citypulse_outbox_messages"
    )
    return {s.labels["status"]: s.value for s in family.samples}


async def test_an_idle_dispatcher_wakes_for_a_new_message_at_once(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    """LISTEN/NOTIFY: with a minute between polls, a new alert's SMS still goes out in
    about a second; without the announcement it would wait out the minute."""
    db.execute(
        "INSERT INTO recipients (name, phone_e164, tier, districts) "
        "VALUES ('용산구 CCTV', '+821012345678', 1, '{용산구}')"
    )
    dispatcher = OutboxDispatcher(isolated.db_conninfo, lambda sink: LogProvider(sink))
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop, idle_s=60.0))
    await asyncio.sleep(1.5)  # one empty round, now asleep on LISTEN
    service = AlertService(isolated.db_conninfo, AREAS, AlertSettings(stage_hold_s=30))
    await service.start(T0)
    await service.on_state(_state(0, 3.4, 1), T0)
    await service.on_state(_state(40, 3.4, 2), T0)
    await service.close()
    queued = time.monotonic()
    status = None
    while time.monotonic() - queued < 10:
        row = db.execute("SELECT status FROM sms_outbox").fetchone()
        status = row[0] if row else None
        if status in ("sent", "delivered"):
            break
        await asyncio.sleep(0.05)
    waited = time.monotonic() - queued
    stop.set()
    await asyncio.wait_for(running, 5)  # a stop is seen within half a second of idling
    assert status in ("sent", "delivered"), f"still {status} after {waited:.1f}s"
    assert waited < 5


def _queue_one(db: psycopg.Connection[tuple[object, ...]], phone: str) -> None:
    db.execute(
        "INSERT INTO sms_outbox (phone_e164, kind, body) VALUES (%s, 'sms', '[인파심각] test')",
        (phone,),
    )


def _dispatcher_backends(db: psycopg.Connection[tuple[object, ...]]) -> list[int]:
    rows = db.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
        "AND datname = current_database()",
        (APPLICATION_NAME,),
    ).fetchall()
    return [int(str(pid)) for (pid,) in rows]


async def test_the_dispatcher_keeps_one_connection_and_replaces_a_lost_one_in_the_same_round(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Rounds share one connection (no connect in front of each alert's first SMS); one
    the server closed while it sat idle is replaced within the round that finds it, so
    the next message is not held back a round."""
    dispatcher = OutboxDispatcher(isolated.db_conninfo, lambda sink: LogProvider(sink))
    try:
        _queue_one(db, "+821000000001")
        assert await dispatcher.dispatch_once() == 1
        first = _dispatcher_backends(db)
        _queue_one(db, "+821000000002")
        assert await dispatcher.dispatch_once() == 1
        assert await dispatcher.dispatch_once() == 0
        assert len(first) == 1 and _dispatcher_backends(db) == first

        db.execute("SELECT pg_terminate_backend(%s, 5000)", (first[0],))  # waits for it
        _queue_one(db, "+821000000003")
        assert await dispatcher.dispatch_once() == 1  # not an error, not a wasted round
        now = _dispatcher_backends(db)
        assert len(now) == 1 and now != first
    finally:
        await dispatcher.aclose()
    deadline = time.monotonic() + 5  # the server notices a closed connection at once, or nearly
    while _dispatcher_backends(db) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert _dispatcher_backends(db) == []  # closed with the dispatcher
    sent = db.execute("SELECT phone_e164 FROM sms_outbox WHERE status IN ('sent', 'delivered')")
    assert sorted(str(p) for (p,) in sent) == [f"+82100000000{i}" for i in (1, 2, 3)]
