"""The record after an incident: one timeline from everything stored about it. Pure.

`assemble` takes the stored rows (gathered by dashboard_api/record/load.py) and returns
a `Record`: what it covers, the alerts in it, and every entry in time order. The JSON,
CSV, PDF and the printable page all show this one object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashboard_api.record.entries import (
    Entry,
    action_entries,
    crowd_entries,
    kst,
    message_entries,
    notification_entries,
    stage_ko,
    trail_entries,
)

Row = Mapping[str, Any]
COLUMNS = ("time", "time_kst", "kind", "alert", "area", "who", "text")


@dataclass(frozen=True)
class Sources:
    """Stored rows, as the tables and stores return them."""

    alerts: Sequence[Row]
    trail: Sequence[Row] = ()
    messages: Sequence[Row] = ()
    notifications: Sequence[Row] = ()
    actions: Sequence[Row] = ()
    readings: Sequence[Row] = ()
    names: Mapping[str, str] = field(default_factory=dict)  # username -> display name
    area_names: Mapping[str, str] = field(default_factory=dict)  # code -> name_ko


@dataclass(frozen=True)
class Record:
    title: str
    start: datetime
    end: datetime
    areas: tuple[str, ...]
    alerts: tuple[dict[str, Any], ...]
    entries: tuple[Entry, ...]
    generated_at: datetime
    generated_by: str
    notes: tuple[str, ...] = ()
    alert_id: int | None = None  # a record of one alert

    def public(self) -> dict[str, Any]:
        """The JSON body: entries as {time, time_kst, kind, who, text, alert, area}."""
        return {
            "title": self.title,
            "from": self.start,
            "to": self.end,
            "areas": list(self.areas),
            "alerts": list(self.alerts),
            "generated_at": self.generated_at,
            "generated_by": self.generated_by,
            "notes": list(self.notes),
            "entries": [entry_row(e) for e in self.entries],
        }


def entry_row(e: Entry) -> dict[str, Any]:
    return {
        "time": e.at.isoformat(),
        "time_kst": kst(e.at),
        "kind": e.kind,
        "alert": f"A{e.alert_id}" if e.alert_id else "",
        "area": e.area_code,
        "who": e.who,
        "text": e.text,
    }


def alert_summary(row: Row) -> dict[str, Any]:
    return {
        "alert": f"A{row['id']}",
        "id": int(row["id"]),
        "area_code": row["area_code"],
        "zone_id": row["zone_id"] or None,
        "name_ko": row["name_ko"] or row["area_code"],
        "name_en": row["name_en"] or row["name_ko"] or row["area_code"],
        "district": row["district"],
        "rule": row["rule"],
        "stage": row["stage"],
        "stage_ko": stage_ko(row["stage"]),
        "peak_stage_ko": stage_ko(row["peak_stage"] or row["stage"]),
        "status": row["status"],
        "opened_at": row["opened_at"],
        "acknowledged_at": row["acknowledged_at"],
        "acknowledged_by": row["acknowledged_by"],
        "resolved_at": row["resolved_at"],
        "resolved_by": row["resolved_by"],
        "resolution": row["resolution"],
    }


def assemble(
    src: Sources,
    *,
    title: str,
    span: tuple[datetime, datetime],
    areas: Sequence[str],
    show_phones: bool,
    generated: tuple[datetime, str],
    notes: Sequence[str] = (),
    alert_id: int | None = None,
) -> Record:
    """Every stored row as an entry, oldest first; ties keep the order things happen in
    (a reading, the decision, the operator's line, held texts, texts, their reports)."""
    area_of = {int(a["id"]): str(a["area_code"]) for a in src.alerts}
    entries = [
        *crowd_entries(src.readings, src.area_names),
        *trail_entries(src.trail, src.names, show_phones, area_of),
        *action_entries(src.actions, src.names, show_phones, area_of),
        *notification_entries(src.notifications, area_of),
        *message_entries(src.messages, show_phones, area_of),
    ]
    entries.sort(key=Entry.sort_key)
    return Record(
        title=title,
        start=span[0],
        end=span[1],
        areas=tuple(areas),
        alerts=tuple(alert_summary(a) for a in src.alerts),
        entries=tuple(entries),
        generated_at=generated[0],
        generated_by=generated[1],
        notes=tuple(notes),
        alert_id=alert_id,
    )
