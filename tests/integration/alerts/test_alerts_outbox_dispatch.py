"""Alert + outbox in one transaction, then the dispatcher sends once and records delivery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg

from alerts.dispatcher import OutboxDispatcher
from alerts.providers.log_provider import LogProvider
from alerts.store import PostgresAlertStore
from citypulse.config import StackSettings
from sensors.registry import hotspots_by_code
from streams.crowd.state import AreaState


def _state(density: float) -> AreaState:
    return AreaState(
        scope="zone", area_code="POI004", zone_id="alley-1", as_of=datetime.now(UTC),
        people=density * 500, walkable_m2=500.0, density_per_m2=density, stage="alert",
        stage_ko="경계", seq=1,
    )  # fmt: skip


def test_alert_opens_once_and_its_sms_is_delivered_exactly_once(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    db.execute(
        "INSERT INTO recipients (name, phone_e164, tier, districts) VALUES "
        "('용산구 CCTV', '+821012345678', 1, '{용산구}'), "
        "('other district', '+821087654321', 1, '{강남구}'), "
        "('city room', '+821011112222', 2, '{}')"
    )
    store = PostgresAlertStore(isolated.db_conninfo)
    hotspots = hotspots_by_code()
    first = store.open_density_alert(_state(3.4), hotspots)
    assert first is not None
    assert store.open_density_alert(_state(3.6), hotspots) is None  # one open alert per key
    assert (
        PostgresAlertStore(isolated.db_conninfo).open_density_alert(_state(3.6), hotspots) is None
    )

    outbox = db.execute("SELECT phone_e164, kind, body FROM sms_outbox").fetchall()
    assert [(p, k) for p, k, _ in outbox] == [("+821012345678", "sms")]
    assert "이태원 관광특구" in str(outbox[0][2]) and "경계" in str(outbox[0][2])
    assert db.execute("SELECT action FROM alert_audit").fetchall() == [("open",)]

    async def run() -> tuple[int, int]:
        dispatcher = OutboxDispatcher(isolated.db_conninfo, lambda sink: LogProvider(sink))
        sent = await dispatcher.dispatch_once()
        await dispatcher.provider.aclose()
        again = await dispatcher.dispatch_once()
        return sent, again

    assert asyncio.run(run()) == (1, 0)
    assert db.execute("SELECT status, attempts FROM sms_outbox").fetchall() == [("delivered", 1)]
    reports = db.execute("SELECT status FROM delivery_reports").fetchall()
    assert reports == [("delivered",)]
