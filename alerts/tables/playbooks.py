"""The `playbook_actions` and `playbook_ticks` tables: the checklists admins edit and the
ticks operators put against an alert's actions (append-only: the latest row per alert and
action is the state, every row is history). Pure logic: alerts/playbooks.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from alerts.playbooks import DEFAULT_ACTIONS, AreaType, PlaybookAction, PlaybookBook
from alerts.tables import Conn, Row, fetch_rows
from citypulse.domain.agencies import Agency
from citypulse.domain.stages import Stage


def action_from_row(r: Row) -> PlaybookAction:
    return PlaybookAction(
        key=r["key"],
        stage=Stage.from_name(r["stage"]),
        area_type=cast(AreaType, r["area_type"]),
        position=int(r["position"]),
        agency=cast(Agency, r["agency"]),
        text_ko=r["text_ko"],
        text_en=r["text_en"],
    )


async def load_book(conn: Conn) -> PlaybookBook:
    rows = await fetch_rows(
        conn, "SELECT * FROM playbook_actions ORDER BY stage, area_type, position"
    )
    return PlaybookBook(tuple(action_from_row(r) for r in rows))


async def keys_elsewhere(
    conn: Conn, stage: Stage, area_type: AreaType, keys: Sequence[str]
) -> list[str]:
    """Which of `keys` another checklist already uses (keys are unique in the book)."""
    rows = await fetch_rows(
        conn,
        "SELECT key FROM playbook_actions WHERE key = ANY(%s) "
        "AND NOT (stage = %s AND area_type = %s) ORDER BY key",
        (list(keys), stage.wire_name, area_type),
    )
    return [r["key"] for r in rows]


async def replace_checklist(
    conn: Conn,
    stage: Stage,
    area_type: AreaType,
    actions: Sequence[PlaybookAction],
    updated_by: str,
) -> None:
    """Replace one stage and type's checklist (in the caller's transaction)."""
    await conn.execute(
        "DELETE FROM playbook_actions WHERE stage = %s AND area_type = %s",
        (stage.wire_name, area_type),
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO playbook_actions (key, stage, area_type, position, agency, text_ko, "
            "text_en, updated_by, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())",
            [
                (a.key, a.stage.wire_name, a.area_type, a.position, a.agency, a.text_ko,
                 a.text_en, updated_by)
                for a in actions
            ],
        )  # fmt: skip


async def record_tick(
    conn: Conn,
    alert_id: int,
    action: PlaybookAction,
    ticked: bool,
    username: str,
    display_name: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One tick (or untick) by a person; returns the stored row. `at`: the database's
    now unless given (a drill's simulated time)."""
    rows = await fetch_rows(
        conn,
        "INSERT INTO playbook_ticks (alert_id, action_key, stage, area_type, agency, text_ko, "
        "text_en, ticked, username, display_name, at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now())) RETURNING *",
        (alert_id, action.key, action.stage.wire_name, action.area_type, action.agency,
         action.text_ko, action.text_en, ticked, username, display_name, at),
    )  # fmt: skip
    return rows[0]


async def ticks_of_alert(conn: Conn, alert_id: int) -> list[dict[str, Any]]:
    """Every tick and untick of an alert, oldest first (the incident record's lines)."""
    return await fetch_rows(
        conn, "SELECT * FROM playbook_ticks WHERE alert_id = %s ORDER BY at, id", (alert_id,)
    )


def tick_state(ticks: Sequence[Row]) -> dict[str, Row]:
    """action key -> its latest tick row, for the actions currently ticked."""
    latest: dict[str, Row] = {}
    for t in ticks:  # oldest first: later rows win
        latest[t["action_key"]] = t
    return {k: t for k, t in latest.items() if t["ticked"]}


async def zone_names(conn: Conn) -> dict[tuple[str, str], str]:
    """(area code, zone id) -> the zone's name, for the zone's area type."""
    rows = await fetch_rows(conn, "SELECT area_code, zone_id, name FROM zones")
    return {(r["area_code"], r["zone_id"]): r["name"] for r in rows}


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def seed_sql(actions: Iterable[PlaybookAction] = DEFAULT_ACTIONS) -> str:
    """The INSERT migration 0016 carries (a unit test keeps the two the same)."""
    rows = [
        f"    ({_sql_text(a.key)}, {_sql_text(a.stage.wire_name)}, {_sql_text(a.area_type)}, "
        f"{a.position}, {_sql_text(a.agency)},\n     {_sql_text(a.text_ko)},\n"
        f"     {_sql_text(a.text_en)})"
        for a in actions
    ]
    head = (
        "INSERT INTO playbook_actions (key, stage, area_type, position, agency, text_ko, text_en)"
        " VALUES\n"
    )
    return head + ",\n".join(rows) + ";\n"
