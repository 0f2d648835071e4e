"""On real rows: a 경계 text names the first action of the seeded playbook for each
recipient's agency (the area's Seoul category picks the checklist, a zone's name its
own), a 주의 text names none, and an admin's edit reaches the next text after a sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.cli.stack import import_areas
from citypulse.config import StackSettings
from citypulse.domain.area_state import AreaState

AREAS = {
    "POI014": AreaInfo("POI014", "강남역", "Gangnam station", "강남구", "인구밀집지역"),
    "POI004": AreaInfo("POI004", "이태원 관광특구", "Itaewon", "용산구", "관광특구"),
    "POI093": AreaInfo("POI093", "뚝섬한강공원", "Ttukseom Hangang Park", "광진구", "공원"),
}
T0 = datetime.now(UTC).replace(microsecond=0)
POLICE, FIRE = "+821012340001", "+821012340002"


def _state(code: str, t_s: float, density: float, seq: int, zone: str | None = None) -> AreaState:
    return AreaState(
        scope="zone" if zone else "area", area_code=code, zone_id=zone,
        as_of=T0 + timedelta(seconds=t_s), people=density * 1000, walkable_m2=1000.0,
        density_per_m2=density, stage="normal", stage_ko="정상", seq=seq,
    )  # fmt: skip


async def test_the_text_names_the_first_action_for_the_recipients_agency(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    db.execute(
        "INSERT INTO recipients (name, phone_e164, tier, agency, language) VALUES "
        "('강남경찰서', %s, 1, 'police', 'ko'), ('Fire desk', %s, 1, 'fire', 'en')",
        (POLICE, FIRE),
    )
    import_areas(isolated)  # the registry, so a zone can name its area
    db.execute(
        "INSERT INTO zones (area_code, zone_id, name, walkable_m2) "
        "VALUES ('POI004', 'POI004-Z2', '해밀톤호텔 옆 골목', 180)"
    )
    settings = AlertSettings(stage_hold_s=0, startup_grace_s=0, rate_limit_messages=100)
    service = AlertService(isolated.db_conninfo, AREAS, settings)
    await service.start(T0)
    await service.on_state(_state("POI014", 1, 3.4, 1), T0 + timedelta(seconds=1))  # 경계
    await service.on_state(_state("POI004", 2, 3.4, 1, "POI004-Z2"), T0 + timedelta(seconds=2))
    await service.on_state(_state("POI093", 3, 2.2, 1), T0 + timedelta(seconds=3))  # 주의
    # An admin rewrites the park's 경계 checklist; the worker picks it up on sync.
    db.execute("DELETE FROM playbook_actions WHERE stage = 'alert' AND area_type = 'park'")
    db.execute(
        "INSERT INTO playbook_actions (key, stage, area_type, position, agency, text_ko, "
        "text_en) VALUES ('park.gates', 'alert', 'park', 1, 'police', '공원 정문 통제', "
        "'Hold the park gates')"
    )
    await service.sync(T0 + timedelta(seconds=4))
    await service.on_state(_state("POI093", 5, 3.4, 2), T0 + timedelta(seconds=5))  # 경계
    await service.close()

    texts = db.execute(
        "SELECT a.area_code, a.zone_id, a.stage, o.phone_e164, o.body FROM sms_outbox o "
        "JOIN alerts a ON a.id = o.alert_id ORDER BY o.id"
    ).fetchall()
    by = {(str(r[0]), str(r[1]), str(r[2]), str(r[3])): str(r[4]) for r in texts}
    station = by[("POI014", "", "alert", POLICE)]
    assert station.endswith("조치: 출구별 유입 제한"), station
    assert by[("POI014", "", "alert", FIRE)].endswith("Do: Stage an ambulance near the station")
    alley = by[("POI004", "POI004-Z2", "alert", POLICE)]
    assert alley.endswith("조치: 골목 일방통행 보행 유도 및 유입 통제"), alley
    park = [
        b
        for (code, _z, stage, p), b in by.items()
        if code == "POI093" and p == POLICE and "경계" in b
    ]
    assert park and park[-1].endswith("조치: 공원 정문 통제"), park
