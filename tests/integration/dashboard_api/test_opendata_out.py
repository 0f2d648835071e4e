"""Open data out through a running API: must show 4 (a CSV and a Parquet export of one
Seoul day for one area match the database's rollups and the 1-minute rows they were made
from) and
the Seoul-shaped endpoint read back by the Seoul adapters (must show 3)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import httpx
import psycopg
import pyarrow.parquet as pq
import pytest

from citypulse.domain.korea_time import KST
from sensors.adapters.seoul_citydata import ParsedLivePopulation, parse_citydata_json
from sensors.adapters.seoul_citydata_xml import parse_citydata_xml
from tests.integration.dashboard_api.conftest import ApiStack, area_state
from tests.integration.support import wait_for

DAY = datetime(2026, 3, 19, tzinfo=KST)


def _export(
    stack: ApiStack, resolution: str, area: str = "POI009", fmt: str = "csv"
) -> httpx.Response:
    params = {"from": "2026-03-19T00:00:00", "to": "2026-03-20T00:00:00",  # KST: no offset
              "resolution": resolution}  # fmt: skip
    url = f"{stack.base}/api/v1/opendata/history/{area}.{fmt}"
    return httpx.get(url, params=params, timeout=10)


def _csv(stack: ApiStack, resolution: str, area: str = "POI009") -> httpx.Response:
    return _export(stack, resolution, area)


def _parquet(stack: ApiStack, resolution: str) -> list[dict[str, object]]:
    r = _export(stack, resolution, fmt="parquet")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    rows: list[dict[str, object]] = pq.read_table(io.BytesIO(r.content)).to_pylist()
    return rows


def test_csv_and_parquet_exports_of_a_day_match_the_rollups(api_stack: ApiStack) -> None:
    inserted: list[tuple[str, int, float, float, float]] = []  # source, samples, sum, min, max
    with psycopg.connect(api_stack.settings.db_conninfo, autocommit=True) as conn:
        for i in range(0, 24 * 60, 37):  # every 37 minutes across the day, two sources
            b = DAY + timedelta(minutes=i)
            for source, people in (("telecom", 5000.0 + i), ("zone_counter", 40.0 + i % 11)):
                samples = 1 + i % 3
                conn.execute(
                    "INSERT INTO crowd_stats_1m VALUES ('POI009', '', %s, %s, %s, %s, %s, %s, "
                    "%s, %s, 10000)",
                    (source, b, samples, samples * people, people - 1, people + 1, people, b),
                )
                inserted.append((source, samples, samples * people, people - 1, people + 1))
        # a row of the day before and one of another area: neither may appear
        conn.execute("INSERT INTO crowd_stats_1m VALUES ('POI009', '', 'telecom', %s, 1, 9, 9, "
                     "9, 9, %s, 10000)", (DAY - timedelta(minutes=1),) * 2)  # fmt: skip
        conn.execute("INSERT INTO crowd_stats_1m VALUES ('POI014', '', 'telecom', %s, 1, 9, 9, "
                     "9, 9, %s, 10000)", (DAY,) * 2)  # fmt: skip
        span = (DAY - timedelta(days=1), DAY + timedelta(days=1))
        conn.execute("SELECT cp_refresh_crowd_rollups(%s, %s)", span)
        hourly = conn.execute(
            "SELECT bucket, source, samples, people_sum / samples, people_min, people_max, "
            "people_last, walkable_m2 FROM crowd_stats_1h WHERE area_code = 'POI009' "
            "AND zone_id = '' AND bucket >= %s AND bucket < %s ORDER BY bucket, source",
            (DAY, DAY + timedelta(days=1)),
        ).fetchall()

    r = _csv(api_stack, "1h")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    got = [
        (datetime.fromisoformat(x["bucket"]), x["source"], int(x["samples"]),
         float(x["people_avg"]), float(x["people_min"]), float(x["people_max"]),
         float(x["people_last"]), float(x["walkable_m2"]))
        for x in rows
    ]  # fmt: skip
    assert got == [tuple(h) for h in hourly] and len(got) > 24  # two sources, most hours
    assert {x["area_code"] for x in rows} == {"POI009"} and {x["zone_id"] for x in rows} == {""}
    columns = ("bucket", "source", "samples", "people_avg", "people_min", "people_max",
               "people_last", "walkable_m2")  # fmt: skip
    typed = _parquet(api_stack, "1h")  # the same rows, typed by Parquet rather than parsed
    assert [tuple(x[c] for c in columns) for x in typed] == [tuple(h) for h in hourly]
    assert {(x["area_code"], x["zone_id"]) for x in typed} == {("POI009", "")}

    daily = list(csv.DictReader(io.StringIO(_csv(api_stack, "1d").text)))
    daily_parquet = _parquet(api_stack, "1d")
    assert [d["source"] for d in daily] == ["telecom", "zone_counter"]
    assert [{k: str(v) for k, v in d.items() if k != "bucket"} for d in daily_parquet] == [
        {k: v for k, v in d.items() if k != "bucket"} for d in daily
    ]  # one query, two encoders: the same cells
    for d in (*daily, *daily_parquet):
        mine = [x for x in inserted if x[0] == d["source"]]
        assert int(d["samples"]) == sum(x[1] for x in mine)
        assert float(d["people_avg"]) == pytest.approx(
            sum(x[2] for x in mine) / sum(x[1] for x in mine), rel=1e-12
        )
        assert float(d["people_min"]) == min(x[3] for x in mine)
        assert float(d["people_max"]) == max(x[4] for x in mine)
        bucket = d["bucket"]
        assert (bucket if isinstance(bucket, datetime) else datetime.fromisoformat(bucket)) == DAY

    assert _csv(api_stack, "1d", area="POI000").status_code == 404
    assert _csv(api_stack, "5s").status_code == 422


def test_published_states_are_served_in_seoul_and_fiware_shapes(api_stack: ApiStack) -> None:
    state = {**area_state("POI009", 0.7243, "attention"), "comfort_level": "보통"}
    api_stack.publish(state, area_state("POI009", 1.1, "caution", zone="exit-3"))
    base = f"{api_stack.base}/api/v1/opendata"

    def served() -> bool:
        r = httpx.get(f"{base}/crowdflow", params={"area": "POI009"}, timeout=10)
        return r.status_code == 200 and len(r.json()) == 2

    wait_for(served, 30, "the states to reach the API")
    url = f"{base}/seoul/sample/{{}}/citydata_ppltn/1/5/광화문·덕수궁"
    as_json = httpx.get(url.format("json"), timeout=10)
    as_xml = httpx.get(url.format("xml"), timeout=10)
    for parsed in (*parse_citydata_json(as_json.content), *parse_citydata_xml(as_xml.text)):
        assert isinstance(parsed, ParsedLivePopulation), parsed
        e = parsed.estimate
        assert (e.area_code, e.people_min, e.people_max) == ("POI009", 7243, 7243)
        assert e.congestion_level == "보통"
        held = datetime.fromisoformat(state["as_of"]).replace(second=0, microsecond=0)
        assert e.event_time == held
