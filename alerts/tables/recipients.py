"""The `recipients` table: who may be texted. The only SQL for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import sql

from alerts.recipients import PhoneNumberError, Recipient, RecipientDirectory
from alerts.tables import Conn, fetch_rows

# What an admin may set (dashboard_api/api/routes/recipients.py); `active` has its own call.
EDITABLE = (
    "name", "phone_e164", "tier", "language", "groups", "districts", "areas", "role", "agency",
    "quiet_from", "quiet_until",
)  # fmt: skip
_COLUMNS = sql.SQL(", ").join(sql.Identifier(c) for c in ("id", *EDITABLE, "active"))


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
    query = sql.SQL("SELECT {} FROM recipients ORDER BY tier, id").format(_COLUMNS)
    return await fetch_rows(conn, query.as_string(conn))


async def create(conn: Conn, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A new active recipient from EDITABLE fields (phone already in E.164)."""
    names = [c for c in EDITABLE if c in fields]
    query = sql.SQL("INSERT INTO recipients ({}) VALUES ({}) RETURNING {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in names),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
        _COLUMNS,
    )
    rows = await fetch_rows(conn, query.as_string(conn), [fields[c] for c in names])
    return rows[0]


async def update(conn: Conn, recipient_id: int, fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """Set the given EDITABLE fields; the row as it is now, None when there is no such id."""
    names = [c for c in EDITABLE if c in fields]
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if not names:
        query = sql.SQL("SELECT {} FROM recipients WHERE id = %s").format(_COLUMNS)
        rows = await fetch_rows(conn, query.as_string(conn), (recipient_id,))
        return rows[0] if rows else None
    query = sql.SQL("UPDATE recipients SET {} WHERE id = %s RETURNING {}").format(
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in names),
        _COLUMNS,
    )
    rows = await fetch_rows(
        conn, query.as_string(conn), [*(fields[c] for c in names), recipient_id]
    )
    return rows[0] if rows else None


async def set_active(conn: Conn, recipient_id: int, active: bool) -> bool:
    """Enable or disable; False when there is no such id."""
    rows = await fetch_rows(
        conn, "UPDATE recipients SET active = %s WHERE id = %s RETURNING id", (active, recipient_id)
    )
    return bool(rows)


async def recipient_name(conn: Conn, recipient_id: int) -> str | None:
    rows = await fetch_rows(conn, "SELECT name FROM recipients WHERE id = %s", (recipient_id,))
    return str(rows[0]["name"]) if rows else None


async def active_recipients_by_phone(conn: Conn, phone_e164: str) -> list[dict[str, Any]]:
    return await fetch_rows(
        conn,
        "SELECT id, name FROM recipients WHERE phone_e164 = %s AND active ORDER BY id",
        (phone_e164,),
    )


# A drill's recipients (citypulse/cli/drill.py): copied from the live table on the live
# connection, into the drill schema named explicitly.
_COPY_COLUMNS = sql.SQL(
    "name, phone_e164, tier, language, districts, areas, active, groups, role, agency, "
    "quiet_from, quiet_until"
)


async def copy_into_schema(conn: Conn, schema: str, groups: list[str], every_active: bool) -> None:
    """The active recipients of `groups` (all active ones with `every_active`) into the
    `recipients` table of `schema`, replacing what it held."""
    target = sql.Identifier(schema)
    await conn.execute(sql.SQL("DELETE FROM {}.recipients").format(target))
    if groups or every_active:
        await conn.execute(
            sql.SQL(
                "INSERT INTO {target}.recipients ({cols}) SELECT {cols} FROM recipients "
                "WHERE active AND (groups && %s::text[] OR %s)"
            ).format(target=target, cols=_COPY_COLUMNS),
            (groups, every_active),
        )


async def add(conn: Conn, name: str, phone_e164: str, tier: int, language: str) -> None:
    """One crowd recipient (a drill's own number)."""
    await conn.execute(
        "INSERT INTO recipients (name, phone_e164, tier, language, role) "
        "VALUES (%s, %s, %s, %s, 'crowd')",
        (name, phone_e164, tier, language),
    )


async def count(conn: Conn) -> int:
    row = await (await conn.execute("SELECT count(*) FROM recipients")).fetchone()
    return int(row[0]) if row else 0
