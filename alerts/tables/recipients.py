"""The `recipients` table: who may be texted. The only SQL for it."""

from __future__ import annotations

from typing import Any

from alerts.recipients import PhoneNumberError, Recipient, RecipientDirectory
from alerts.tables import Conn, fetch_rows


async def load_directory(conn: Conn) -> RecipientDirectory:
    rows = await fetch_rows(
        conn,
        "SELECT id, name, phone_e164, tier, language, groups, districts, areas, active, role, "
        "agency, quiet_from, quiet_until FROM recipients ORDER BY id",
    )
    recipients = []
    for r in rows:
        try:
            recipients.append(
                Recipient(
                    recipient_id=str(r["id"]), name=r["name"], phone=r["phone_e164"],
                    tier=int(r["tier"]), language=r["language"], groups=frozenset(r["groups"]),
                    districts=frozenset(r["districts"]), area_codes=frozenset(r["areas"]),
                    active=bool(r["active"]), role=r["role"], agency=r["agency"],
                    quiet_hours=(
                        (r["quiet_from"], r["quiet_until"]) if r["quiet_from"] is not None else None
                    ),
                )
            )  # fmt: skip
        except (PhoneNumberError, ValueError):
            continue  # not a Korean mobile: the carrier would refuse it; the API lists it
    return RecipientDirectory(tuple(recipients))


async def listing(conn: Conn) -> list[dict[str, Any]]:
    """Every row as stored (numbers unmasked: the caller masks), by tier then id."""
    return await fetch_rows(
        conn,
        "SELECT id, name, phone_e164, tier, language, districts, areas, active, role, agency, "
        "quiet_from, quiet_until FROM recipients ORDER BY tier, id",
    )


async def recipient_name(conn: Conn, recipient_id: int) -> str | None:
    rows = await fetch_rows(conn, "SELECT name FROM recipients WHERE id = %s", (recipient_id,))
    return str(rows[0]["name"]) if rows else None


async def active_recipients_by_phone(conn: Conn, phone_e164: str) -> list[dict[str, Any]]:
    return await fetch_rows(
        conn,
        "SELECT id, name FROM recipients WHERE phone_e164 = %s AND active ORDER BY id",
        (phone_e164,),
    )
