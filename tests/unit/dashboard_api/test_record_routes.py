"""The record routes take outside input (areas, from, to, an alert id): whatever comes,
a clear 4xx or the record, never a 500. No database here: the loaders are stand-ins that
check what the route passes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard_api.api import deps
from dashboard_api.api.routes import records
from dashboard_api.record.timeline import Record
from dashboard_api.schemas.auth import UserPublic

ROWS = [{"code": "POI004", "name_ko": "이태원 관광특구", "district": "용산구"},
        {"code": "POI009", "name_ko": "홍대 관광특구", "district": "마포구"}]  # fmt: skip
CALLS: list[tuple[list[str], datetime, datetime]] = []


async def _range_record(conn: Any, areas: list[str], span: tuple[datetime, datetime],
                        **kw: Any) -> Record:  # fmt: skip
    assert set(areas) <= {"POI004", "POI009"} and span[0].tzinfo and span[1].tzinfo
    assert timedelta(0) < span[1] - span[0] <= records.MAX_SPAN
    CALLS.append((areas, *span))
    now = datetime(2026, 12, 2, tzinfo=UTC)
    return Record("t", span[0], span[1], tuple(areas), (), (), now, kw["generated"][1])


async def _alert_record(conn: Any, alert_id: int, **kw: Any) -> Record:
    assert 1 <= alert_id < 2**63
    from alerts.exceptions import AlertNotFound

    raise AlertNotFound(alert_id)


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(records.router)

    async def conn() -> AsyncIterator[None]:
        yield None

    async def caller() -> UserPublic:
        return UserPublic(username="kim.op", role="operator", display_name="김관제")

    async def rows() -> list[dict[str, Any]]:
        return ROWS

    app.dependency_overrides[deps._connection] = conn
    app.dependency_overrides[deps._caller] = caller
    app.dependency_overrides[deps._area_rows] = rows
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(records, "range_record", _range_record)
        mp.setattr(records, "alert_record", _alert_record)
        mp.setattr(records, "record_pdf", lambda r: b"%PDF-1.7 stand-in")
        yield TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"areas": "POI004", "from": "2026-12-02T01:00Z", "to": "2026-12-02T12:00+09:00"}, 200),
        ({"areas": "POI004,POI009,POI004", "from": "2026-12-02T10:00", "to": "2026-12-03"}, 200),
        ({"areas": "POI777", "from": "2026-12-02T10:00", "to": "2026-12-02T11:00"}, 404),
        ({"areas": "POI004", "from": "2026-12-02T11:00", "to": "2026-12-02T10:00"}, 422),
        ({"areas": "POI004", "from": "2026-11-01T00:00", "to": "2026-12-02T00:00"}, 422),
        ({"areas": "POI004;DROP", "from": "2026-12-02", "to": "2026-12-03"}, 422),
        ({"areas": "POI004", "from": "yesterday", "to": "2026-12-03"}, 422),
        ({"areas": "POI004"}, 422),
        ({"areas": ",".join(["POI004"] * 21), "from": "2026-12-02", "to": "2026-12-03"}, 422),
        ({"areas": "POI004", "from": "1900-01-01", "to": "1900-01-02"}, 422),
    ],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/api/v1/records", "/api/v1/records.csv", "/api/v1/records.pdf"])
def test_range_parameters(
    client: TestClient, path: str, params: dict[str, str], status: int
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    if status == 200 and path.endswith(".csv"):
        assert r.headers["content-type"].startswith("text/csv")
        assert 'filename="citypulse_record_POI004' in r.headers["content-disposition"]
    if status == 200 and path.endswith(".pdf"):
        assert r.content.startswith(b"%PDF")


def test_a_time_without_offset_is_seoul_time(client: TestClient) -> None:
    CALLS.clear()
    params = {"areas": "POI004", "from": "2026-12-02T10:00", "to": "2026-12-02T11:00"}
    assert client.get("/api/v1/records", params=params).status_code == 200
    ((areas, start, _end),) = CALLS
    assert start == datetime(2026, 12, 2, 1, 0, tzinfo=UTC) and areas == ["POI004"]


@pytest.mark.parametrize("alert_id", ["0", "-1", "x", "9" * 30, "1.5", str(2**63)])
def test_an_alert_id_out_of_range_is_a_422(client: TestClient, alert_id: str) -> None:
    for suffix in ("", ".csv", ".pdf"):
        assert client.get(f"/api/v1/alerts/{alert_id}/record{suffix}").status_code in (404, 422)
    assert client.get("/api/v1/alerts/12/record").status_code == 404


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
times = st.one_of(text, st.datetimes().map(datetime.isoformat),
                  st.datetimes(timezones=st.timezones()).map(datetime.isoformat))  # fmt: skip
areas = st.one_of(text, st.lists(st.sampled_from(["POI004", "POI009", "POI0", "poi004", ""]),
                                 max_size=25).map(",".join))  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(areas=areas, start=times, end=times, path=st.sampled_from(["", ".csv", ".pdf"]))
def test_hostile_range_parameters_are_a_4xx_never_a_500(
    client: TestClient, areas: str, start: str, end: str, path: str
) -> None:
    r = client.get(f"/api/v1/records{path}", params={"areas": areas, "from": start, "to": end})
    assert r.status_code in (200, 404, 422), (r.status_code, r.text[:300])
