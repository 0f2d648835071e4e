"""Operator actions on real rows: audited, texted through the outbox, seen by the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alerts import operations as ops
from alerts.exceptions import AlertNotFound, InvalidSilence, InvalidTransition
from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.config import StackSettings
from citypulse.domain.area_state import AreaState

AREAS = {"POI004": AreaInfo("POI004", "이태원 관광특구", "Itaewon", "용산구")}


def _state(t: datetime, density: float, seq: int) -> AreaState:
    return AreaState(
        scope="area", area_code="POI004", as_of=t, people=density * 1000, walkable_m2=1000.0,
        density_per_m2=density, stage="alert", stage_ko="경계", seq=seq,
    )  # fmt: skip


async def test_acknowledge_resolve_comment_and_silence(
    isolated: StackSettings, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    db.execute(
        "INSERT INTO recipients (name, phone_e164, tier) VALUES ('구청', '+821012345678', 1)"
    )
    now = datetime.now(UTC)
    service = AlertService(isolated.db_conninfo, AREAS, AlertSettings(stage_hold_s=0))
    await service.start(now)
    await service.on_state(_state(now, 3.4, 1), now)
    (alert_id,) = db.execute("SELECT id FROM alerts").fetchone() or (0,)
    aid = int(str(alert_id))

    async with await psycopg.AsyncConnection.connect(isolated.db_conninfo, autocommit=True) as conn:
        listed = await ops.list_alerts(conn, status=["open"], district="용산구")
        assert [(a["id"], a["stage"], a["stage_ko"]) for a in listed] == [(aid, "alert", "경계")]
        acked = await ops.acknowledge_alert(conn, aid, "김관제", "on my way")
        assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "김관제")
        await ops.comment_alert(conn, aid, "김관제", "CCTV 3 shows queues")
        with pytest.raises(ValueError, match="reason"):
            await ops.resolve_alert(conn, aid, "김관제", " ")
        done = await ops.resolve_alert(conn, aid, "김관제", "crowd dispersed")
        with pytest.raises(InvalidTransition):
            await ops.acknowledge_alert(conn, aid, "김관제")
        with pytest.raises(AlertNotFound, match="alert 999999 does not exist"):
            await ops.get_alert(conn, 999999)

        assert (done["status"], done["resolved_by"], done["resolution"]) == (
            "resolved", "김관제", "crowd dispersed",
        )  # fmt: skip
        trail = [(a["who"], a["action"]) for a in done["audit"]]
        assert trail == [
            ("citypulse", "opened"), ("citypulse", "sms_queued"), ("김관제", "acknowledged"),
            ("김관제", "commented"), ("김관제", "resolved"), ("citypulse", "sms_queued"),
        ]  # fmt: skip
        assert [m["template"] for m in done["sms"]] == ["fire", "resolved"]
        assert {m["phone"] for m in done["sms"]} == {"+82******5678"}  # masked
        assert "+821012345678" not in str(done)

        # The engine learns of the manual resolution on sync and fires again after a hold.
        await service.sync(now)
        later = now + timedelta(seconds=30)
        refired = await service.on_state(_state(later, 3.5, 2), later)
        assert [type(d).__name__ for d in refired] == ["Fire"]

        with pytest.raises(InvalidSilence, match="areas or districts"):
            await ops.create_silence(
                conn, area_code=None, district=None, rule=None, starts_at=now,
                ends_at=now + timedelta(hours=1), created_by="박팀장", reason="fireworks",
            )  # fmt: skip
        silence = await ops.create_silence(
            conn, area_code=None, district="용산구", rule="stage", starts_at=now,
            ends_at=now + timedelta(hours=2), created_by="박팀장", reason="planned parade",
        )  # fmt: skip
        assert (silence["districts"], silence["rule"]) == (["용산구"], "stage")
        assert [s["id"] for s in await ops.list_silences(conn, active_at=now)] == [silence["id"]]
        assert await ops.list_silences(conn, active_at=now + timedelta(hours=3)) == []
    await service.sync(now)
    assert [s.silence_id for s in service.engine.silences] == [str(silence["id"])]
    await service.close()
