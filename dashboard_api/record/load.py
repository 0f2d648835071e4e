"""Gathers what was stored about an alert, or about areas over a time range, and hands it
to the pure assembler (timeline.assemble). The SQL lives with each table's owner.

An alert's record covers its life and a margin either side (the crowd before it opened,
the texts and reports after it closed); a range record everything inside the range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from alerts.exceptions import AlertNotFound
from alerts.tables import Conn
from alerts.tables import alerts as alert_table
from alerts.tables import notifications as notification_table
from alerts.tables import outbox as outbox_table
from dashboard_api.record.timeline import Record, Sources, assemble
from dashboard_api.store import crowd_record
from dashboard_api.store import users as user_store

BEFORE_ALERT = timedelta(minutes=30)  # the crowd building up before it opened
AFTER_ALERT = timedelta(minutes=15)  # late delivery reports, the crowd dispersing
MAX_SPAN = timedelta(days=7)
MAX_ALERTS = 200
MAX_READINGS = 5000
READINGS_NOTE = (
    "Crowd figures: the last reading stored in each minute per source, at the time it was "
    "stored; the density each decision used is stored with the decision."
)


async def alert_record(
    conn: Conn,
    alert_id: int,
    *,
    area_names: Mapping[str, str],
    show_phones: bool,
    generated: tuple[datetime, str],
) -> Record:
    rows = await alert_table.fetch_alerts(conn, "id = %s", (alert_id,))
    if not rows:
        raise AlertNotFound(alert_id)
    alert = rows[0]
    now = generated[0]
    start = alert["opened_at"] - BEFORE_ALERT
    end = max(min((alert["resolved_at"] or now) + AFTER_ALERT, now), alert["opened_at"])
    zones = ["", alert["zone_id"]] if alert["zone_id"] else [""]
    name = alert["name_ko"] or area_names.get(alert["area_code"], alert["area_code"])
    return await _gather(
        conn, [alert], [alert["area_code"]], zones, (start, end), area_names,
        title=f"A{alert_id} {name}", show_phones=show_phones, generated=generated,
        alert_id=alert_id,
    )  # fmt: skip


async def range_record(
    conn: Conn,
    areas: Sequence[str],
    span: tuple[datetime, datetime],
    *,
    area_names: Mapping[str, str],
    show_phones: bool,
    generated: tuple[datetime, str],
) -> Record:
    """Every alert of these areas open during [from, to), and what was stored then."""
    alerts = await alert_table.alerts_overlapping(conn, list(areas), *span, MAX_ALERTS + 1)
    notes = []
    if len(alerts) > MAX_ALERTS:
        alerts = alerts[:MAX_ALERTS]
        notes.append(f"Only the first {MAX_ALERTS} alerts of the range; narrow it for the rest.")
    zones = sorted({""} | {a["zone_id"] for a in alerts if a["zone_id"]})
    names = ", ".join(area_names.get(a, a) for a in areas[:3]) + ("…" if len(areas) > 3 else "")
    return await _gather(
        conn, alerts, list(areas), zones, span, area_names, title=names,
        show_phones=show_phones, generated=generated, notes=notes, clip=True,
    )  # fmt: skip


async def _gather(
    conn: Conn,
    alerts: list[dict[str, Any]],
    areas: list[str],
    zones: list[str],
    span: tuple[datetime, datetime],
    area_names: Mapping[str, str],
    *,
    title: str,
    show_phones: bool,
    generated: tuple[datetime, str],
    alert_id: int | None = None,
    notes: list[str] | None = None,
    clip: bool = False,
) -> Record:
    ids = [int(a["id"]) for a in alerts]
    trail = await alert_table.trail_of(conn, ids)
    actions = await user_store.actions_on_alerts(conn, ids)
    readings = await crowd_record.readings_as_stored(
        conn, areas, zones, span[0], span[1], MAX_READINGS + 1
    )
    notes = [*(notes or ()), READINGS_NOTE]
    if len(readings) > MAX_READINGS:
        readings = readings[:MAX_READINGS]
        notes.append(f"Only the first {MAX_READINGS} crowd readings; narrow the range.")
    actors = {str(r["actor"]) for r in trail} | {str(r["actor"]) for r in actions}
    record = assemble(
        Sources(
            alerts=alerts,
            trail=trail,
            messages=await outbox_table.messages_of_alerts(conn, ids),
            notifications=await notification_table.of_alerts(conn, ids),
            actions=actions,
            readings=readings,
            names=await user_store.display_names(conn, sorted(actors)),
            area_names=area_names,
        ),
        title=title, span=span, areas=areas, show_phones=show_phones, generated=generated,
        notes=notes, alert_id=alert_id,
    )  # fmt: skip
    if clip:  # a range record holds only what happened inside the range
        inside = tuple(e for e in record.entries if span[0] <= e.at < span[1])
        record = replace(record, entries=inside)
    return record
