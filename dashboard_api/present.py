"""Pure shaping of stored rows and live states into API bodies: no I/O, no clock.

Kept apart from the routes so the rules that matter to users (what counts as a stale
feed, how a phone number is masked, what a history point means) are unit-tested.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dashboard_api.live.filters import STAGE_RANK

_PHONE = re.compile(r"\+?[0-9][0-9 -]{7,17}[0-9]")
STATE_FIELDS = (
    "stage",
    "stage_ko",
    "density_per_m2",
    "people",
    "people_min",
    "people_max",
    "as_of",
    "trend_per_min",
    "forecast",
    "stale",
    "comfort_level",
    "density_plausible",
    "seq",
)


def contains_phone(text: str) -> bool:
    """True when text holds something shaped like a full phone number (8+ digits)."""
    return any(sum(c.isdigit() for c in m.group()) >= 8 for m in _PHONE.finditer(text))


def parse_state(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def state_summary(state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {k: state.get(k) for k in STATE_FIELDS}


def risk_key(state: Mapping[str, Any] | None) -> tuple[int, float]:
    """Sort key, highest risk first when sorted descending: stage, then density."""
    if state is None:
        return (-1, 0.0)
    return (STAGE_RANK.get(str(state.get("stage")), 0), float(state.get("density_per_m2") or 0))


def area_feature(row: Mapping[str, Any], state: Mapping[str, Any] | None) -> dict[str, Any]:
    walkable = float(row["area_m2"]) * float(row["walkable_fraction"])
    return {
        "type": "Feature",
        "id": row["code"],
        "geometry": row["polygon"],
        "properties": {
            "code": row["code"],
            "name_ko": row["name_ko"],
            "name_en": row["name_en"],
            "district": row["district"],
            "category": row["category"],
            "area_m2": round(float(row["area_m2"]), 1),
            "walkable_m2": round(walkable, 1),
            "centroid": [row["centroid_lon"], row["centroid_lat"]],
            "state": state_summary(state),
        },
    }


def feature_collection(
    rows: Iterable[Mapping[str, Any]], states: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    features = [area_feature(r, states.get(r["code"])) for r in rows]
    return {"type": "FeatureCollection", "features": features}


def state_age_s(state: Mapping[str, Any], now: datetime) -> float | None:
    try:
        as_of = datetime.fromisoformat(str(state["as_of"]))
    except (KeyError, ValueError):
        return None
    return max(0.0, (now - as_of).total_seconds())


def feed_health(
    area_codes: Iterable[str],
    states: Mapping[str, Mapping[str, Any]],
    now: datetime,
    stale_after_s: float,
) -> dict[str, Any]:
    """Per area: how old its newest input is, which sources are silent; a missing feed is
    reported as missing, never as calm."""
    areas: list[dict[str, Any]] = []
    for code in sorted(area_codes):
        state = states.get(code)
        if state is None:
            areas.append({"area_code": code, "status": "missing", "age_s": None, "sources": []})
            continue
        age = state_age_s(state, now)
        stale = bool(state.get("stale")) or age is None or age > stale_after_s
        sources = [
            {"source": s.get("source"), "age_s": s.get("age_s"), "stale": bool(s.get("stale"))}
            for s in state.get("sources") or []
        ]
        areas.append(
            {
                "area_code": code,
                "status": "stale" if stale else "ok",
                "age_s": None if age is None else round(age, 1),
                "as_of": state.get("as_of"),
                "sources": sources,
            }
        )
    counts = {s: sum(1 for a in areas if a["status"] == s) for s in ("ok", "stale", "missing")}
    return {"summary": counts, "areas": areas}


def history_points(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    points = []
    for r in rows:
        walkable = float(r["walkable_m2"])
        avg = float(r["people_avg"])
        points.append(
            {
                "bucket": r["bucket"].isoformat(),
                "source": r["source"],
                "samples": r["samples"],
                "people_avg": round(avg, 1),
                "people_min": r["people_min"],
                "people_max": r["people_max"],
                "people_last": r["people_last"],
                "density_avg": round(avg / walkable, 4),
                "density_max": round(float(r["people_max"]) / walkable, 4),
            }
        )
    return points
