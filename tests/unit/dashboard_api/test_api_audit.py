"""audited(): the change and its operator-audit line commit together or not at all."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from psycopg import AsyncConnection

from dashboard_api.api.audit import audited
from dashboard_api.schemas.auth import UserPublic

CALLER = UserPublic(username="김관제", role="operator")


class FakeConn:
    """Records statements; a transaction keeps them only if its block did not raise."""

    def __init__(self) -> None:
        self.committed: list[tuple[str, Any]] = []
        self._open: list[tuple[str, Any]] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self._open = []
        try:
            yield
        except BaseException:
            self._open = None
            raise
        self.committed += self._open
        self._open = None

    async def execute(self, query: str, params: Any = None) -> None:
        assert self._open is not None, "written outside a transaction"
        self._open.append((query, params))


async def test_the_audit_line_follows_the_change_with_the_target_it_named() -> None:
    conn = FakeConn()
    db = cast(AsyncConnection[Any], conn)
    async with audited(db, CALLER, "silence.create", data={"reason": "parade"}) as line:
        await conn.execute("INSERT INTO silences ...")
        line.target = "17"
    (change, _), (audit_sql, params) = conn.committed
    assert change.startswith("INSERT INTO silences") and "operator_audit" in audit_sql
    at, actor, role, action, target, data = params
    assert (actor, role, action, target) == ("김관제", "operator", "silence.create", "17")
    assert json.loads(data) == {"reason": "parade"}
    assert at is None  # the database's now: only a drill passes its simulated time


async def test_a_drill_change_is_audited_at_its_simulated_time() -> None:
    conn = FakeConn()
    simulated = datetime(2026, 6, 13, 10, 30, tzinfo=UTC)
    db = cast(AsyncConnection[Any], conn)
    async with audited(db, CALLER, "alert.acknowledge", "5", {"drill": "ab1"}, simulated):
        await conn.execute("UPDATE alerts ...")
    (_, _), (audit_sql, params) = conn.committed
    assert "coalesce(%s, now())" in audit_sql
    assert params[0] == simulated and json.loads(params[-1]) == {"drill": "ab1"}


async def test_a_failed_change_leaves_no_audit_line() -> None:
    conn = FakeConn()
    with pytest.raises(LookupError):
        async with audited(cast(AsyncConnection[Any], conn), CALLER, "event_day.delete", "9"):
            await conn.execute("DELETE FROM event_day_profiles ...")
            raise LookupError("no event-day profile 9")
    assert conn.committed == []
