"""Stored rows -> timeline entries. Pure: no I/O, no clock.

Each entry says when, what kind, who and what, in words a council or an inquiry can
read; the figures are the ones stored at the time (a decision's `data.state`, a reading's
`stored_at`), never recomputed. Phone numbers appear in full only when `show_phones`
(admins); a texted acknowledgement link never appears (it would still work).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.lifecycle import SYSTEM
from alerts.phone_ack.links import LINK_PATH
from citypulse.domain.korea_time import KST
from citypulse.domain.phones import mask_phone
from citypulse.domain.stages import Stage

Row = Mapping[str, Any]

# Where an entry comes from: ties at one instant keep the order things happen in (a
# reading, the decision it led to, the operator's line, the texts, their reports).
CROWD, TRAIL, ACTION, HELD, SMS, REPORT = range(6)
# A Korean mobile number however written, or any E.164 number; not dates or counts.
_PHONE = re.compile(
    r"(?<![\d+])(?:(?:\+?82[ -]?|0)1[016789][ -]?\d{3,4}[ -]?\d{4}|\+[1-9]\d{7,14})(?!\d)"
)
_LINK = re.compile(re.escape(LINK_PATH) + r"[A-Za-z0-9._~-]+")
KINDS = (
    "crowd", "decision", "acknowledgement", "comment", "resolution", "action",
    "notification", "sms", "delivery",
)  # fmt: skip
_KIND_OF_ACTION = {
    "acknowledged": "acknowledgement",
    "commented": "comment",
    "resolved": "resolution",
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # see KINDS
    who: str
    text: str
    alert_id: int | None = None
    area_code: str = ""
    order: tuple[int, int] = (0, 0)  # (source, row id): ties at one instant

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, *self.order)


def kst(at: datetime) -> str:
    return at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S KST")


def stage_ko(name: str | None) -> str:
    try:
        return Stage.from_name(str(name)).label_ko
    except (KeyError, ValueError):
        return str(name or "")


def scrub(text: str, show_phones: bool) -> str:
    """No working acknowledgement link, and for non-admins no phone number."""
    text = _LINK.sub(LINK_PATH + "…", text)
    if show_phones:
        return text
    return _PHONE.sub(lambda m: mask_phone(m.group()), text)


def person(username: str, names: Mapping[str, str]) -> str:
    """'김관제 (kim.op)' for an account with a display name; the system by name."""
    if username == SYSTEM:
        return "CityPulse"
    name = names.get(username)
    return f"{name} ({username})" if name else username


def figures(state: Mapping[str, Any] | None) -> str:
    """The alert's state stored with a decision: stage, density, people, trend, forecast."""
    if not state:
        return "figures not stored with this entry (before 2026-12)"
    r = state.get("reading") or {}
    parts = [stage_ko(state.get("stage"))]
    if r.get("density_per_m2") is not None:
        parts.append(f"{float(r['density_per_m2']):.2f}/m²")
    if r.get("people") is not None:
        parts.append(f"{float(r['people']):,.0f} people")
    if r.get("trend_per_min") is not None:
        parts.append(f"trend {float(r['trend_per_min']):+.3f}/m² per min")
    if r.get("forecast_density_per_m2") is not None:
        horizon = r.get("forecast_horizon_min")
        parts.append(f"forecast {float(r['forecast_density_per_m2']):.2f}/m² in {horizon} min")
    if r.get("as_of"):
        parts.append(f"reading of {kst(datetime.fromisoformat(r['as_of']))}")
    parts.append(f"tier {state.get('tier', '?')}" + (", muted" if state.get("muted") else ""))
    return ", ".join(parts)


def trail_entries(
    rows: Iterable[Row], names: Mapping[str, str], show_phones: bool, area_of: Mapping[int, str]
) -> list[Entry]:
    """alert_audit rows: the rule's decisions, acknowledgements, comments, resolutions."""
    out = []
    for r in rows:
        data = r["data"] or {}
        action, detail, why = str(r["action"]), str(data.get("detail") or ""), str(r["reason"])
        kind = _KIND_OF_ACTION.get(action, "decision")
        who = person(str(r["actor"]), names)
        if kind == "acknowledgement":
            how = (
                "from the phone"
                if str(r["actor"]).endswith(("(SMS link)", "(SMS reply)"))
                else ("in the dashboard")
            )
            text = f"acknowledged {how}" + (f": {why}" if why else "")
        elif kind == "comment":
            text = f"comment: {detail}"
        else:
            text = action + (f": {detail}" if detail else "") + (f" ({why})" if why else "")
            if action not in ("sms_queued", "sms_rate_limited"):
                text += f" — {figures(data.get('state'))}"
        alert_id = int(r["alert_id"])
        out.append(Entry(r["at"], kind, who, scrub(text, show_phones), alert_id,
                         area_of.get(alert_id, ""), (TRAIL, int(r["id"]))))  # fmt: skip
    return out


def _data_text(data: Mapping[str, Any] | None) -> str:
    return "; ".join(f"{k}={v}" for k, v in (data or {}).items() if v not in (None, "", [], {}))


def action_entries(
    rows: Iterable[Row], names: Mapping[str, str], show_phones: bool, area_of: Mapping[int, str]
) -> list[Entry]:
    """operator_audit lines tied to the alerts, whatever their action (playbook ticks too)."""
    out = []
    for r in rows:
        data = dict(r["data"] or {})
        target = str(r["target"])
        alert_id = _alert_of(target, data)
        text = f"{r['action']} {target}".strip()
        detail = _data_text(data)
        text += f": {detail}" if detail else ""
        who = f"{person(str(r['actor']), names)}, {r['role']}"
        out.append(Entry(r["at"], "action", who, scrub(text, show_phones), alert_id,
                         area_of.get(alert_id or 0, ""), (ACTION, int(r["id"]))))  # fmt: skip
    return out


def _alert_of(target: str, data: Mapping[str, Any]) -> int | None:
    for value in (str(data.get("alert_id", "")), target.removeprefix("A")):
        if value.isdigit() and len(value) < 19:
            return int(value)
    return None


def notification_entries(rows: Iterable[Row], area_of: Mapping[int, str]) -> list[Entry]:
    """alert_notifications: a FIRE held for its district's grouping window, then queued."""
    out = []
    for r in rows:
        alert_id, tiers = int(r["alert_id"]), ", ".join(str(t) for t in r["tiers"])
        key = (HELD, int(r["id"]))
        out.append(Entry(r["created_at"], "notification", "CityPulse",
                         f"{r['template']} ({stage_ko(r['stage'])}) for tiers {tiers} held for "
                         f"{r['district']}'s grouping window", alert_id,
                         area_of.get(alert_id, ""), key))  # fmt: skip
        if r["queued_at"] is not None:
            out.append(Entry(r["queued_at"], "notification", "CityPulse",
                             f"{r['template']} grouping window over: texts queued", alert_id,
                             area_of.get(alert_id, ""), key))  # fmt: skip
    return out


def message_entries(
    rows: Iterable[Row], show_phones: bool, area_of: Mapping[int, str]
) -> list[Entry]:
    """sms_outbox rows and their delivery reports: queued, accepted, delivered or failed."""
    out = []
    for m in rows:
        phone = str(m["phone_e164"]) if show_phones else mask_phone(str(m["phone_e164"]))
        to = f"{m['recipient'] or 'a removed recipient'} ({phone})"
        ids = [int(i) for i in (m["alert_ids"] or ())] or [int(m["alert_id"] or 0)]
        announces = " for " + ", ".join(f"A{i}" for i in ids) if len(ids) > 1 else ""
        steps = [
            (m["created_at"], "sms",
             f"{str(m['kind']).upper()} {m['template']}{announces} queued (now {m['status']}, "
             f"{m['attempts']} attempt(s)): {m['body']}"),
        ]  # fmt: skip
        if m["sent_at"] is not None:
            steps.append((m["sent_at"], "sms", f"accepted by the gateway ({m['provider'] or '?'})"))
        reports = list(m["reports"] or ())
        for rep in reports:
            said = f" ({rep['provider_status']})" if rep.get("provider_status") else ""
            steps.append((_time(rep["received_at"]), "delivery",
                          f"delivery report: {rep['status']}{said}"))  # fmt: skip
        if m["status"] == "failed" and not reports and m["final_at"] is not None:
            steps.append((m["final_at"], "delivery", f"failed: {m['last_error'] or 'no reason'}"))
        for seq, (at, kind, text) in enumerate(steps):
            order = (SMS if kind == "sms" else REPORT, int(m["id"]) * 100 + seq)
            area = area_of.get(ids[0], "")
            out.append(Entry(at, kind, to, scrub(text, show_phones), ids[0], area, order))
    return out


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def crowd_entries(rows: Iterable[Row], area_names: Mapping[str, str]) -> list[Entry]:
    """Readings as stored: when each became known, what it said, when it was measured."""
    out = []
    for i, r in enumerate(rows):
        code = str(r["area_code"])
        where = area_names.get(code, code) + (f" / {r['zone_id']}" if r["zone_id"] else "")
        spread = ""
        if r["people_min"] is not None and r["people_max"] is not None:
            spread = f" ({float(r['people_min']):,.0f}–{float(r['people_max']):,.0f})"
        text = (
            f"{where}: {float(r['people']):,.0f} people{spread} by {r['source']} "
            f"({r['origin']}), measured {kst(r['event_time'])}"
        )
        if r.get("congestion_level"):
            text += f", Seoul says {r['congestion_level']}"
        if r["stored_at"] is None:
            text += "; stored time unknown (before 2026-12): time shown is the producer's"
        out.append(Entry(r["known_at"], "crowd", "CityPulse", text, None, code, (CROWD, i)))
    return out
