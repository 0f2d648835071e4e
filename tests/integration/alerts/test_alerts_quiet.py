"""Quiet when nothing is wrong, on real rows: a feed going silent at start-up texts no
crowd recipient, the technical group gets one message for the whole source, and a real
경계 right after start-up reaches its recipients; rate limits survive a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.config import StackSettings
from citypulse.domain.area_state import AreaState, SourceContribution

CODES = [f"POI{i:03d}" for i in range(101, 107)]
AREAS = {c: AreaInfo(c, f"구역{c[-1]}", c, "중구") for c in CODES}
T0 = datetime.now(UTC).replace(microsecond=0)
CROWD, ON_CALL = "+821012345678", "+821099990000"


def _state(code: str, t_s: float, density: float, seq: int, stale: bool = False) -> AreaState:
    src = SourceContribution(source="telecom", people=density * 1000, weight=1.0,
                             age_s=900.0 if stale else 60.0, stale=stale)  # fmt: skip
    return AreaState(
        scope="area", area_code=code, as_of=T0 + timedelta(seconds=t_s), people=density * 1000,
        walkable_m2=1000.0, density_per_m2=density, stage="normal", stage_ko="정상",
        sources=(src,), stale=stale, seq=seq,
    )  # fmt: skip


def _settings() -> AlertSettings:
    return AlertSettings(
        stage_hold_s=0, startup_grace_s=60, feed_outage_min_areas=5, feed_outage_window_s=30,
        rate_limit_messages=1,
    )  # fmt: skip


async def test_a_silent_feed_at_start_up_is_one_technical_message_and_a_crowd_still_alerts(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    db.execute(
        "INSERT INTO recipients (name, phone_e164, tier, districts, role) VALUES "
        "('중구 CCTV', %s, 1, '{중구}', 'crowd'), ('on-call', %s, 1, '{}', 'technical')",
        (CROWD, ON_CALL),
    )
    service = AlertService(isolated.db_conninfo, AREAS, _settings())
    await service.start(T0)

    def now(t_s: float) -> datetime:
        return T0 + timedelta(seconds=t_s)

    for code in CODES:  # first states, then the telecom feed stalls inside the grace
        await service.on_state(_state(code, 0, 0.5, 1), now(0))
        assert await service.on_state(_state(code, 10, 0.5, 2, stale=True), now(10)) == []
    for code in CODES:  # still silent after the grace: one feed alert, not six
        await service.on_state(_state(code, 70, 0.5, 3, stale=True), now(70))
    # A real crowd right after: 경계 reaches the district at once.
    fired = await service.on_state(_state(CODES[0], 80, 3.4, 4), now(80))
    assert [type(d).__name__ for d in fired] == ["Fire"]
    await service.close()

    alerts = db.execute("SELECT dedup_key, status FROM alerts ORDER BY id").fetchall()
    assert alerts == [("feed.telecom:data_gap", "open"), (f"{CODES[0]}:stage", "open")]
    sent = db.execute(
        "SELECT a.rule, o.phone_e164, o.technical, o.stage FROM sms_outbox o "
        "JOIN alerts a ON a.id = o.alert_id ORDER BY o.id"
    ).fetchall()
    assert sent == [("data_gap", ON_CALL, True, "caution"), ("stage", CROWD, False, "alert")]

    # After a restart the limit remembers the crowd's 경계 (not the technical message):
    # another 경계 is held back, a 심각 still goes.
    again = AlertService(isolated.db_conninfo, AREAS, _settings())
    await again.start(now(90))
    await again.on_state(_state(CODES[1], 95, 3.4, 5), now(95))
    await again.on_state(_state(CODES[2], 96, 6.5, 5), now(96))
    await again.close()
    actions = db.execute(
        "SELECT a.dedup_key, t.action FROM alert_audit t JOIN alerts a ON a.id = t.alert_id "
        "WHERE t.action IN ('sms_queued', 'sms_rate_limited') ORDER BY t.id"
    ).fetchall()
    assert actions[2:] == [
        (f"{CODES[1]}:stage", "sms_rate_limited"), (f"{CODES[2]}:stage", "sms_queued"),
    ]  # fmt: skip
