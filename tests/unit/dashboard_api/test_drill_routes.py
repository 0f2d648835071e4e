"""GET /api/v1/drills/{id}: a hostile or unknown drill id is a clear 4xx, never a 500,
and never reaches a read of the live tables (no such schema: no search_path is set)."""

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
