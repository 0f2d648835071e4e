"""`phone_ack_link_uses`: acknowledgement links used from a phone. The only SQL for it."""

from __future__ import annotations

from alerts.tables import Conn, fetch_rows


async def use_link(conn: Conn, mac: str, alert_id: int, recipient_id: int) -> bool:
    """Store the link's use; False when it was used before."""
    rows = await fetch_rows(
        conn,
        "INSERT INTO phone_ack_link_uses (mac, alert_id, recipient_id) VALUES (%s, %s, %s) "
        "ON CONFLICT (mac) DO NOTHING RETURNING mac",
        (mac, alert_id, recipient_id),
    )
    return bool(rows)
