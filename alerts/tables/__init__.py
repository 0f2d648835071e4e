"""One module per table of alerting, and the only places that hold SQL for them.

    alerts, alert_audit            alerts/tables/alerts.py   (rows <-> AlertRecord: alert_rows.py)
    alert_notifications            alerts/tables/notifications.py
    sms_outbox, delivery_reports   alerts/tables/outbox.py
    recipients                     alerts/tables/recipients.py
    silences                       alerts/tables/silences.py
    playbook_actions, playbook_ticks  alerts/tables/playbooks.py

Every function takes the caller's async connection and opens no transaction of its own
unless it says so: the alert path writes a change, its audit and its outbox rows in ONE
transaction that its caller holds (alerts/service.py, alerts/operations.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.AsyncConnection[Any]
Row = Mapping[str, Any]


async def fetch_rows(conn: Conn, query: str, params: Any = None) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query.encode(), params)
        return await cur.fetchall()
