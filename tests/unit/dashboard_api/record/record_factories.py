"""Stored rows as the tables return them, and a record assembled from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard_api.record.timeline import Record, Sources, assemble

T0 = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
PHONE = "+821055512347"


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def alert_row(**kw: Any) -> dict[str, Any]:
    row = {
        "id": 12, "area_code": "POI004", "zone_id": "", "name_ko": "이태원 관광특구",
        "name_en": "Itaewon", "district": "용산구", "rule": "stage", "stage": "alert",
        "peak_stage": "serious", "status": "resolved", "opened_at": at(0),
        "acknowledged_at": at(120), "acknowledged_by": "kim.op", "resolved_at": at(600),
        "resolved_by": "kim.op", "resolution": "dispersed",
    }  # fmt: skip
    return {**row, **kw}


STATE = {
    "stage": "alert", "status": "open", "tier": 1, "muted": False,
    "reading": {"as_of": at(-5).isoformat(), "density_per_m2": 3.4, "people": 3400.0,
                "trend_per_min": 0.02, "forecast_density_per_m2": 3.9, "forecast_horizon_min": 15},
}  # fmt: skip


def trail(
    i: int, t: float, actor: str, action: str, reason: str = "", **data: Any
) -> dict[str, Any]:
    return {"id": i, "alert_id": 12, "at": at(t), "actor": actor, "action": action,
            "reason": reason, "data": data}  # fmt: skip


def message(i: int, **kw: Any) -> dict[str, Any]:
    row = {
        "id": i, "alert_id": 12, "alert_ids": [12], "recipient_id": 1, "recipient": "용산구 관제",
        "phone_e164": PHONE, "kind": "sms", "template": "fire", "status": "delivered",
        "attempts": 1, "provider": "kannel", "created_at": at(0), "sent_at": at(3),
        "final_at": at(9), "last_error": None,
        "body": "[CityPulse 경계] 이태원 #A12 확인: https://cp.example/a/1a.2b.3c.AbCdEfGhIjKlMnOp",
        "reports": [{"status": "delivered", "provider_status": "DELIVRD",
                     "received_at": at(9).isoformat()}],
    }  # fmt: skip
    return {**row, **kw}


def reading(t: float, people: float, *, stored: bool = True) -> dict[str, Any]:
    return {
        "area_code": "POI004", "zone_id": "", "source": "telecom", "origin": "seoul_citydata",
        "event_time": at(t - 30), "ingest_time": at(t - 10), "stored_at": at(t) if stored else None,
        "known_at": at(t), "people": people, "people_min": people - 100,
        "people_max": people + 100, "congestion_level": "붐빔", "replaced": False,
    }  # fmt: skip


def sources() -> Sources:
    return Sources(
        alerts=[alert_row()],
        trail=[
            trail(1, 0, "citypulse", "opened", detail="stage 경계: 3.40/m²", state=STATE),
            trail(
                2,
                0,
                "citypulse",
                "sms_queued",
                "fire",
                detail="용산구 관제 (tier 1, +82******2347)",
            ),
            trail(3, 120, "김민수 (SMS link)", "acknowledged", detail="", state=STATE),
            trail(4, 200, "kim.op", "commented", detail='=HYPERLINK("http://x") CCTV 3'),
            trail(5, 600, "kim.op", "resolved", "dispersed", detail="was 경계"),
        ],
        messages=[message(7)],
        actions=[
            {
                "id": 40,
                "at": at(200),
                "actor": "kim.op",
                "role": "operator",
                "action": "alert.comment",
                "target": "12",
                "data": {"text": "CCTV 3"},
            },
            {
                "id": 41,
                "at": at(300),
                "actor": "kim.op",
                "role": "operator",
                "action": "playbook.tick",
                "target": "12",
                "data": {"item": "출구 통제"},
            },
        ],
        readings=[reading(-60, 3000), reading(0, 3400), reading(300, 2500, stored=False)],
        names={"kim.op": "김관제"},
        area_names={"POI004": "이태원 관광특구"},
    )


def record(show_phones: bool = False, src: Sources | None = None) -> Record:
    return assemble(
        src or sources(), title="A12 이태원", span=(at(-1800), at(1500)), areas=["POI004"],
        show_phones=show_phones, generated=(at(2000), "kim.op"), alert_id=12,
    )  # fmt: skip
