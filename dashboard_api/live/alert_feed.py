"""Polls the alerts table and hands each change to the hub for the operator streams.

Polling (not LISTEN/NOTIFY) because the alert writers live in other processes and
0003 has no trigger; a one-second poll on a small indexed table is cheap. A change
committed late with an older `updated_at` is still caught: each poll looks back a few
seconds and skips rows whose fingerprint it has already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from alerts.tables import alerts as alert_table
from dashboard_api.live.hub import AreaStateHub

log = logging.getLogger(__name__)
LOOK_BACK = timedelta(seconds=5)


def alert_item(row: dict[str, Any]) -> bytes:
    body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
    body.pop("changed_at", None)
    return json.dumps({"kind": "alert", "alert": body}, ensure_ascii=False).encode()


class AlertFeed:
    def __init__(self, pool: AsyncConnectionPool, hub: AreaStateHub, poll_s: float) -> None:
        self.pool, self.hub, self.poll_s = pool, hub, poll_s
        self._sent: dict[int, tuple[str, datetime]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alert-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def poll_once(self, since: datetime) -> datetime:
        async with self.pool.connection() as conn:
            rows = await alert_table.changed_since(conn, since - LOOK_BACK)
        newest = since
        for row in rows:
            changed: datetime = row["changed_at"]
            fingerprint = (str(row["status"]), changed)
            if self._sent.get(row["id"]) != fingerprint:
                self._sent[row["id"]] = fingerprint
                self.hub.publish_alert(int(row["id"]), alert_item(row))
            newest = max(newest, changed)
        horizon = newest - LOOK_BACK * 2
        self._sent = {k: v for k, v in self._sent.items() if v[1] >= horizon}
        return newest

    async def _run(self) -> None:
        since: datetime | None = None
        while True:
            try:
                if since is None:
                    async with self.pool.connection() as conn:
                        row = await (await conn.execute("SELECT now()")).fetchone()
                    since = row[0] if row else None
                if since is not None:
                    since = await self.poll_once(since)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be restarting: try again
                log.warning("alert feed poll failed: %s", type(exc).__name__)
            await asyncio.sleep(self.poll_s)
