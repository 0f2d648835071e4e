"""The history export routes under hostile parameters: a clear 4xx, never a 500
(no database: the area list and the rollup query are stand-ins)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard_api.api import deps
from dashboard_api.api.routes import exports
from dashboard_api.core.config import ApiSettings, get_api_settings

ROW = {"bucket": datetime(2026, 3, 19, tzinfo=UTC), "source": "telecom", "samples": 2,
       "people_avg": 5.0, "people_min": 4.0, "people_max": 6.0, "people_last": 5.0,
       "walkable_m2": 100.0}  # fmt: skip


async def _history(_conn: Any, *_args: Any) -> list[dict[str, Any]]:
    return [ROW]


async def _no_connection() -> Any:
    return None


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(exports.router)
    app.dependency_overrides[deps._area_rows] = lambda: [{"code": "POI009"}]
    app.dependency_overrides[deps._connection] = _no_connection
    unlimited = ApiSettings(export_rate_per_s=1e9, export_burst=10**9)
    app.dependency_overrides[get_api_settings] = lambda: unlimited
    mp = pytest.MonkeyPatch()
    mp.setattr(exports, "crowd_history", _history)
    yield TestClient(app, raise_server_exceptions=False)
    mp.undo()


offsets = st.builds(
    timezone,
    st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23)),
)
times = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), offsets)).map(datetime.isoformat),
    st.text(max_size=40),
    st.sampled_from(["2026-03-19", "0001-01-01T00:00:00", "9999-12-31T23:59:59-23:59",
                     "2026-02-30T00:00:00", "now", "", "2026-03-19T00:00:00+24:00"]),
)  # fmt: skip
codes = st.one_of(st.sampled_from(["POI009", "POI000", "POI9", "poi009"]), st.text(max_size=12))
zones = st.one_of(st.sampled_from(["", "exit-3"]), st.text(max_size=80))
resolutions = st.one_of(st.sampled_from(["1m", "15m", "1h", "1d"]), st.text(max_size=5))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    suffix=st.sampled_from(["csv", "parquet"]),
    code=codes,
    start=times,
    end=times,
    resolution=resolutions,
    zone=zones,
)
def test_hostile_parameters_get_a_4xx_never_a_500(
    client: TestClient, suffix: str, code: str, start: str, end: str, resolution: str, zone: str
) -> None:
    params = {"from": start, "to": end, "resolution": resolution, "zone": zone}
    r = client.get(f"/api/v1/opendata/history/{quote(code, safe='')}.{suffix}", params=params)
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code == 200:
        assert code == "POI009"
        if suffix == "parquet":
            assert pq.read_table(io.BytesIO(r.content)).num_rows == 1
        else:
            assert len(r.text.splitlines()) == 2


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ("0001-01-01T00:00:00", "0001-01-02T00:00:00", 422),  # KST: before year 1 in UTC
        ("9999-12-31T00:00:00-23:00", "9999-12-31T01:00:00-23:00", 422),  # past 9999 in UTC
        ("2026-03-20T00:00:00", "2026-03-19T00:00:00", 422),
        ("2026-03-19T00:00:00", "2026-03-20T00:00:00", 200),
    ],
)
def test_edges_of_time(client: TestClient, start: str, end: str, code: int) -> None:
    for suffix in ("csv", "parquet"):
        r = client.get(f"/api/v1/opendata/history/POI009.{suffix}",
                       params={"from": start, "to": end})  # fmt: skip
        assert r.status_code == code, r.text
