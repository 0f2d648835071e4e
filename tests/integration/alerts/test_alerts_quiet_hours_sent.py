"""Quiet hours on real rows: a 주의 to a recipient inside their quiet hours is not queued
(and the skip is in the alert's audit), while a recipient without quiet hours gets it;
a 심각 reaches both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.config import StackSettings
from citypulse.domain.area_state import AreaState, SourceContribution
from citypulse.domain.korea_time import KST

CAUTION_AREA, SERIOUS_AREA = "POI201", "POI202"
AREAS = {
    CAUTION_AREA: AreaInfo(CAUTION_AREA, "구역1", CAUTION_AREA, "중구"),
    SERIOUS_AREA: AreaInfo(SERIOUS_AREA, "구역2", SERIOUS_AREA, "용산구"),
}
T0 = datetime.now(UTC).replace(microsecond=0)
NIGHT, DAY = "+821033330001", "+821033330002"


def _state(code: str, t_s: float, density: float, seq: int) -> AreaState:
    src = SourceContribution(source="telecom", people=density * 1000, weight=1.0, age_s=60.0)
    return AreaState(
        scope="area", area_code=code, as_of=T0 + timedelta(seconds=t_s), people=density * 1000,
        walkable_m2=1000.0, density_per_m2=density, stage="normal", stage_ko="정상",
        sources=(src,), stale=False, seq=seq,
    )  # fmt: skip


async def test_a_caution_skips_quiet_hours_and_a_serious_does_not(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    local = T0.astimezone(KST)  # a window around now, whatever the hour (it may wrap)
    quiet_from, quiet_until = (
        (local - timedelta(hours=1)).time(),
        (local + timedelta(hours=1)).time(),
    )
    db.execute(
        "INSERT INTO recipients (name, phone_e164, tier, role, quiet_from, quiet_until) VALUES "
        "('야간 관제', %s, 1, 'crowd', %s, %s), ('주간 관제', %s, 1, 'crowd', NULL, NULL)",
        (NIGHT, quiet_from, quiet_until, DAY),
    )
    settings = AlertSettings(stage_hold_s=0, startup_grace_s=0)
    service = AlertService(isolated.db_conninfo, AREAS, settings)
    await service.start(T0)
    caution = await service.on_state(_state(CAUTION_AREA, 5, 2.4, 1), T0 + timedelta(seconds=5))
    serious = await service.on_state(_state(SERIOUS_AREA, 6, 6.5, 1), T0 + timedelta(seconds=6))
    await service.close()
    assert [type(d).__name__ for d in caution + serious] == ["Fire", "Fire"]

    sent = db.execute(
        "SELECT a.area_code, o.stage, o.phone_e164 FROM sms_outbox o "
        "JOIN alerts a ON a.id = o.alert_id ORDER BY a.area_code, o.phone_e164"
    ).fetchall()
    assert sent == [
        (CAUTION_AREA, "caution", DAY),  # the night recipient is skipped
        (SERIOUS_AREA, "serious", NIGHT),  # 심각 always goes
        (SERIOUS_AREA, "serious", DAY),
    ]
    skipped = db.execute(
        "SELECT a.area_code, t.data->>'detail' FROM alert_audit t "
        "JOIN alerts a ON a.id = t.alert_id WHERE t.action = 'sms_quiet_hours'"
    ).fetchall()
    assert skipped == [(CAUTION_AREA, "야간 관제 (tier 1, +82******0001)")]
