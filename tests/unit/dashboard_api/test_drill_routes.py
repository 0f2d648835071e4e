"""/api/v1/drills/{id}[/alerts/{n}/...]: a hostile or unknown drill id is a clear 4xx,
never a 500, and never reaches a read or write of any table (no such schema: no
search_path is set, no lock taken), whether reading the record or acting in the drill."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard_api.api import deps
from dashboard_api.api.routes import drills
from dashboard_api.schemas.auth import UserPublic

KNOWN = ["e2ea", "x1"]


class FakeConn:
    """Answers the drill-schema listing only; anything else is a read it must not do."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    async def execute(self, query: Any, params: Any = None) -> FakeConn:
        self.queries.append(str(query))
        if "pg_namespace" not in str(query):
            raise AssertionError(f"unexpected read: {query}")
        return self

    async def fetchall(self) -> list[tuple[str]]:
        return [(k,) for k in KNOWN]


CONN = FakeConn()


async def _conn() -> AsyncIterator[FakeConn]:
    yield CONN


async def _operator() -> UserPublic:
    return UserPublic(username="op", role="operator")


app = FastAPI()
app.include_router(drills.router)
app.dependency_overrides[deps._connection] = _conn
app.dependency_overrides[deps._caller] = _operator
client = TestClient(app, raise_server_exceptions=False)


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda t: t not in KNOWN and t.strip("/.") != ""))
def test_any_other_id_is_a_clear_4xx(text: str) -> None:
    CONN.queries.clear()
    r = client.get(f"/api/v1/drills/{quote(text, safe='')}")
    assert 400 <= r.status_code < 500, (text, r.status_code, r.text)
    assert not [q for q in CONN.queries if "search_path" in q]


def test_an_unknown_drill_is_404_and_a_bad_id_422() -> None:
    assert client.get("/api/v1/drills/nosuch").status_code == 404
    assert client.get("/api/v1/drills/DROP%20TABLE").status_code == 422
    assert client.get("/api/v1/drills/" + "a" * 17).status_code == 422


ACTING = (
    ("POST", "/alerts/1/acknowledge", {"note": ""}),
    ("POST", "/alerts/1/playbook/ticks", {"action_key": "alert.alley.one-way"}),
    ("GET", "/alerts/1/playbook", None),
    ("GET", "/alerts/1/record", None),
    ("GET", "/alerts/1/record.pdf", None),
)


@settings(max_examples=100, deadline=None)
@given(
    st.text(min_size=1, max_size=40).filter(lambda t: t not in KNOWN and t.strip("/.") != ""),
    st.sampled_from(ACTING),
)
def test_acting_in_anything_but_a_drill_is_a_clear_4xx(
    text: str, route: tuple[str, str, dict[str, str] | None]
) -> None:
    method, path, body = route
    CONN.queries.clear()
    r = client.request(method, f"/api/v1/drills/{quote(text, safe='')}{path}", json=body)
    assert 400 <= r.status_code < 500, (text, r.status_code, r.text)
    assert not [q for q in CONN.queries if "search_path" in q or "LOCK" in q]


def test_acting_in_an_unknown_drill_is_404_and_a_bad_id_or_alert_422() -> None:
    for method, path, body in ACTING:
        assert client.request(method, f"/api/v1/drills/nosuch{path}", json=body).status_code == 404
        bad = client.request(method, f"/api/v1/drills/x%3Bdrop{path}", json=body)
        assert bad.status_code == 422
    assert client.post("/api/v1/drills/e2ea/alerts/0/acknowledge", json={}).status_code == 422
    assert client.get("/api/v1/drills/e2ea/alerts/1/record.xls").status_code == 422
