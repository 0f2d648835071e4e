"""The REST API against the real database and broker: areas, history, feeds, config."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.dashboard_api.conftest import ApiStack, area_state
from tests.integration.support import wait_for


def _areas(api: ApiStack, **params: str) -> dict[str, Any]:
    r = httpx.get(f"{api.base}/api/v1/areas", params=params, timeout=10)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_areas_geojson_carries_live_state_sorted_by_risk(api_stack: ApiStack) -> None:
    api_stack.publish(area_state("POI009", 3.4, "alert"), area_state("POI014", 0.5, "normal"))

    def has_states() -> bool:
        feats = _areas(api_stack)["features"]
        assert isinstance(feats, list)
        return sum(1 for f in feats if f["properties"]["state"]) >= 2

    wait_for(has_states, 20, "states in /api/v1/areas")
    body = _areas(api_stack)
    feats = body["features"]
    assert isinstance(feats, list) and body["type"] == "FeatureCollection"
    assert len(feats) == 120
    assert feats[0]["id"] == "POI009"  # highest stage first
    assert feats[0]["properties"]["state"]["stage"] == "alert"
    assert feats[0]["geometry"]["type"] == "Polygon"
    district = feats[0]["properties"]["district"]
    assert {
        f["properties"]["district"] for f in _areas(api_stack, district=district)["features"]
    } == {district}
    assert [f["id"] for f in _areas(api_stack, min_stage="caution")["features"]] == ["POI009"]

    detail = httpx.get(f"{api_stack.base}/api/v1/areas/POI009", timeout=10).json()
    assert detail["state"]["density_per_m2"] == 3.4
    assert detail["sources"][0]["source"] == "telecom"
    assert detail["zones"] and {"zone_id", "walkable_m2", "state"} <= set(detail["zones"][0])


@pytest.mark.parametrize(
    ("path", "params", "status", "reason"),
    [
        ("/api/v1/areas/POI009/history", {"resolution": "5m"}, 422, "resolution"),
        (
            "/api/v1/areas/POI009/history",
            {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            422,
            "after",
        ),
        (
            "/api/v1/areas/POI009/history",
            {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
            422,
            "at most",
        ),
        ("/api/v1/areas/POI009/history", {"from": "2026-01-01T00:00:00"}, 422, "timezone"),
        ("/api/v1/areas/POI009/history", {"zone": "x' OR '1'='1"}, 422, "pattern"),
        ("/api/v1/areas/POI999/history", {}, 404, "no area"),
        ("/api/v1/areas/DROP%20TABLE/history", {}, 422, "pattern"),
        ("/api/v1/areas", {"district": "nowhere"}, 422, "unknown district"),
        ("/api/v1/areas", {"min_stage": "panic"}, 422, "pattern"),
    ],
)
def test_bad_input_gets_4xx_with_reason(
    api_stack: ApiStack, path: str, params: dict[str, str], status: int, reason: str
) -> None:
    r = httpx.get(f"{api_stack.base}{path}", params=params, timeout=10)
    assert r.status_code == status, r.text
    assert reason in r.text.lower()


def test_history_reads_each_resolution(api_stack: ApiStack) -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with psycopg.connect(api_stack.settings.db_conninfo, autocommit=True) as conn:
        for i in range(30):
            b = start + timedelta(minutes=i)
            conn.execute(
                "INSERT INTO crowd_stats_1m VALUES ('POI009', '', 'telecom', %s, 2, %s, %s, %s, "
                "%s, %s, 10000)",
                (b, 2 * (1000 + i), 1000 + i, 1000 + i, 1000 + i, b),
            )
        conn.execute("SELECT cp_refresh_crowd_rollups(%s, %s)", (start, start + timedelta(hours=1)))
    window = {"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()}
    url = f"{api_stack.base}/api/v1/areas/POI009/history"
    minute = httpx.get(url, params={**window, "resolution": "1m"}, timeout=10).json()
    assert len(minute["points"]) == 30
    assert minute["points"][5]["people_avg"] == 1005.0
    assert minute["points"][5]["density_avg"] == pytest.approx(0.1005)
    quarter = httpx.get(url, params={**window, "resolution": "15m"}, timeout=10).json()
    assert [p["samples"] for p in quarter["points"]] == [30, 30]
    assert quarter["points"][1]["people_max"] == 1029.0


def test_feeds_mark_stale_and_missing_areas(api_stack: ApiStack) -> None:
    old = datetime.now(UTC) - timedelta(hours=2)
    api_stack.publish(
        area_state("POI001", 1.0, "normal", as_of=old), area_state("POI002", 1.0, "normal")
    )

    def both() -> bool:
        r = httpx.get(f"{api_stack.base}/api/v1/feeds", timeout=10).json()
        by = {a["area_code"]: a for a in r["areas"]}
        return bool(by["POI001"]["status"] != "missing" != by["POI002"]["status"])

    wait_for(both, 20, "both feeds seen")
    body = httpx.get(f"{api_stack.base}/api/v1/feeds", timeout=10).json()
    by = {a["area_code"]: a for a in body["areas"]}
    assert by["POI001"]["status"] == "stale" and by["POI001"]["age_s"] > 7000
    assert by["POI002"]["status"] == "ok"
    assert by["POI003"]["status"] == "missing"
    assert body["summary"]["missing"] == 118


def test_thresholds_and_event_days_are_stored_and_audited(api_stack: ApiStack) -> None:
    op = api_stack.auth("operator")
    url = f"{api_stack.base}/api/v1/config"
    bad = httpx.put(
        f"{url}/thresholds/POI009",
        headers=op,
        timeout=10,
        json={"thresholds": {"attention": 2, "caution": 1, "alert": 3, "serious": 4}},
    )
    assert bad.status_code == 422 and "increase" in bad.text
    ok = httpx.put(
        f"{url}/thresholds/POI009",
        headers=op,
        timeout=10,
        json={"thresholds": {"attention": 1, "caution": 1.5, "alert": 2.5, "serious": 4}},
    )
    assert ok.status_code == 200, ok.text
    ev = httpx.post(
        f"{url}/event-days",
        headers=op,
        timeout=10,
        json={
            "name": "Countdown",
            "starts_at": "2026-12-31T20:00:00+09:00",
            "ends_at": "2027-01-01T02:00:00+09:00",
            "area_codes": ["POI009"],
            "thresholds": {"attention": 1, "caution": 1.5, "alert": 2, "serious": 3},
            "expected_people": 100_000,  # the planned crowd (migration 0019)
        },
    )
    assert ev.status_code == 201, ev.text
    assert ev.json()["expected_people"] == 100_000
    refused = httpx.post(
        f"{url}/event-days", headers=op, timeout=10,
        json={**json.loads(ev.request.content), "expected_people": -1},
    )  # fmt: skip
    assert refused.status_code == 422 and "expected_people" in refused.text
    got = httpx.get(f"{url}/thresholds", headers=op, timeout=10).json()
    areas = [o for o in got["overrides"] if o["zone_id"] is None]
    assert [(o["area_code"], o["thresholds"]["serious"]) for o in areas] == [("POI009", 4)]
    assert [(e["name"], e["expected_people"]) for e in got["event_days"]] == [
        ("Countdown", 100_000)
    ]
    audit = httpx.get(
        f"{api_stack.base}/api/v1/audit", headers=api_stack.auth("admin"), timeout=10
    ).json()
    actions = [(a["actor"], a["action"]) for a in audit]
    assert ("operator", "thresholds.set_area") in actions
    assert ("operator", "event_day.create") in actions


def test_recipients_are_masked_and_metrics_are_prometheus_text(api_stack: ApiStack) -> None:
    r = httpx.get(  # an operator's list: masked (an admin's has the numbers: test_recipients)
        f"{api_stack.base}/api/v1/recipients", headers=api_stack.auth("operator"), timeout=10
    )
    assert r.status_code == 200
    assert [x["phone_masked"] for x in r.json()] == [
        "+82******0001",
        "+82******0009",  # the technical on-call, tier 1
        "+82******2347",
        "+82******0002",
        "+82******0003",
    ]
    assert "821000000001" not in r.text
    r = httpx.get(f"{api_stack.base}/metrics", timeout=10)
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    labels = {"method": "GET", "route": "/api/v1/recipients", "status": "200"}
    requests = families["citypulse_http_requests"]
    assert requests.type == "counter"
    assert [s.value for s in requests.samples if s.labels == labels] == [1.0]
    latency = families["citypulse_http_request_duration_seconds"]
    assert latency.type == "histogram"
    count = [s.value for s in latency.samples if s.name.endswith("_count") and s.labels == labels]
    assert count == [1.0]
    assert families["citypulse_ws_clients"].samples[0].value == 0.0
