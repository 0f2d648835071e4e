"""Alert rows <-> alerts.lifecycle.AlertRecord, and the ids people read. Pure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from alerts.lifecycle import AlertRecord, AlertStatus
from alerts.rules import AlertSubject, Mute, OpenAlert, Reading, RuleKind
from alerts.tables import Row
from citypulse.domain.area_state import stage_name
from citypulse.domain.stages import Stage

ALERT_COLUMNS = """id, dedup_key, area_code, zone_id, rule, stage, status, density_per_m2,
    people, opened_at, updated_at, acknowledged_at, acknowledged_by, resolved_at,
    resolved_by, tier, district, name_ko, name_en, peak_stage, reading, tier_since,
    last_notified_at, reminders_sent, muted, resolution, profile, extra_groups, details"""


def alert_id_text(db_id: int) -> str:
    """The id people read and quote back from an SMS: 1042 -> "A1042"."""
    return f"A{db_id}"


def alert_db_id(alert_id: str) -> int:
    return int(alert_id.removeprefix("A"))


def stage_from_name(name: str) -> Stage:
    return Stage.from_name(name)


def stage_text(stage: Stage) -> str:
    return stage_name(stage)


def reading_json(r: Reading) -> str:
    return json.dumps(
        {
            "as_of": r.as_of.isoformat(),
            "density_per_m2": r.density_per_m2,
            "people": r.people,
            "normal_people": r.normal_people,
            "trend_per_min": r.trend_per_min,
            "forecast_density_per_m2": r.forecast_density_per_m2,
            "forecast_horizon_min": r.forecast_horizon_min,
            **({"forecast_warning": True} if r.forecast_warning else {}),
        }
    )


def _reading(row: Row) -> Reading:
    raw = row["reading"] or {}
    return Reading(
        as_of=datetime.fromisoformat(raw["as_of"]) if "as_of" in raw else row["opened_at"],
        density_per_m2=float(raw.get("density_per_m2") or row["density_per_m2"]),
        people=float(raw.get("people") or row["people"]),
        normal_people=raw.get("normal_people"),
        trend_per_min=raw.get("trend_per_min"),
        forecast_density_per_m2=raw.get("forecast_density_per_m2"),
        forecast_horizon_min=raw.get("forecast_horizon_min"),
        forecast_warning=bool(raw.get("forecast_warning", False)),
    )


def reading_dict(r: Reading) -> dict[str, Any]:
    return dict(json.loads(reading_json(r)))


def state_of(r: AlertRecord) -> dict[str, Any]:
    """What the alert knew when an audit entry was written (stage, status, tier and the
    reading behind them), kept with the entry so the record after an incident shows the
    figures as they were then, not as the row, overwritten by later changes, holds them."""
    return {
        "stage": stage_text(r.severity),
        "status": r.status.value,
        "tier": r.tier,
        "muted": r.muted is not None,
        "reading": reading_dict(r.reading),
    }


def mute_json(m: Mute | None) -> str | None:
    return None if m is None else json.dumps({"kind": m.kind, "by": m.by, "reason": m.reason})


def subject_of(row: Row) -> AlertSubject:
    zone = row["zone_id"] or None
    area = str(row["area_code"])
    return AlertSubject(
        key=area if zone is None else f"{area}/{zone}",
        area_code=area,
        zone_id=zone,
        district=row["district"],
        name_ko=row["name_ko"] or area,
        name_en=row["name_en"] or row["name_ko"] or area,
    )


def record_from_row(row: Row) -> AlertRecord:
    muted = row["muted"]
    stage = stage_from_name(row["stage"])
    return AlertRecord(
        alert_id=alert_id_text(int(row["id"])),
        dedup_key=row["dedup_key"],
        rule=RuleKind(row["rule"]),
        subject=subject_of(row),
        status=AlertStatus(row["status"]),
        severity=stage,
        peak_severity=stage_from_name(row["peak_stage"]) if row["peak_stage"] else stage,
        reading=_reading(row),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        muted=Mute(muted["kind"], muted["by"], muted["reason"]) if muted else None,
        tier=int(row["tier"]),
        tier_since=row["tier_since"],
        last_notified_at=row["last_notified_at"],
        reminders_sent=int(row["reminders_sent"]),
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
        resolution=row["resolution"],
        profile=row["profile"],
        extra_groups=tuple(row["extra_groups"] or ()),
    )


def open_alert_of(row: Row) -> OpenAlert:
    """What engine.restore needs after a restart."""
    return OpenAlert(
        row["dedup_key"], subject_of(row), RuleKind(row["rule"]), stage_from_name(row["stage"])
    )


def record_values(r: AlertRecord) -> dict[str, Any]:
    """Column -> value of an alert row (density under its own key: `density_per_m2`)."""
    return {
        "id": alert_db_id(r.alert_id),
        "dedup_key": r.dedup_key,
        "area_code": r.subject.area_code,
        "zone_id": r.subject.zone_id or "",
        "rule": r.rule.value,
        "stage": stage_text(r.severity),
        "peak_stage": stage_text(r.peak_severity),
        "status": r.status.value,
        "density_per_m2": r.reading.density_per_m2,
        "people": r.reading.people,
        "opened_at": r.opened_at,
        "updated_at": r.updated_at,
        "acknowledged_at": r.acknowledged_at,
        "acknowledged_by": r.acknowledged_by,
        "resolved_at": r.resolved_at,
        "resolved_by": r.resolved_by,
        "tier": r.tier,
        "district": r.subject.district,
        "name_ko": r.subject.name_ko,
        "name_en": r.subject.name_en,
        "reading": reading_json(r.reading),
        "tier_since": r.tier_since,
        "last_notified_at": r.last_notified_at,
        "reminders_sent": r.reminders_sent,
        "muted": mute_json(r.muted),
        "resolution": r.resolution,
        "profile": r.profile,
        "extra_groups": list(r.extra_groups),
    }


def alert_dict(row: dict[str, Any]) -> dict[str, Any]:
    """An alert row as the API shows it."""
    stage = stage_from_name(row["stage"])
    out = {k: row[k] for k in row if k not in ("details", "zone_id")}
    out.update(
        alert_id=alert_id_text(int(row["id"])),
        zone_id=row["zone_id"] or None,
        stage_ko=stage.label_ko,
        extra_groups=list(row["extra_groups"] or ()),
    )
    return out
