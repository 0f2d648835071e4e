"""The `sms_outbox` table and its `delivery_reports`: the only SQL for them.

Rows are written in the same transaction as the alert change they announce (the
caller's); the dispatcher (alerts/dispatcher.py) claims, hands over and settles them
with the statements below, each committed on its own (see the dispatcher for why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from psycopg import errors, sql

from alerts.messages import SMS_MAX_BYTES
from alerts.providers.base import SmsKind
from alerts.tables import Conn, fetch_rows


@dataclass(frozen=True)
class OutboxRow:
    """One message to send: the first alert it announces, all of them, to whom, what."""

    alert_id: int
    alert_ids: tuple[int, ...]
    recipient_id: int
    phone_e164: str
    kind: str  # 'sms' or 'lms'
    subject: str | None
    body: str
    template: str
    stage: str | None = None  # highest stage announced, for the rate limit after a restart
    technical: bool = False  # on the technical budget


async def insert(conn: Conn, rows: Sequence[OutboxRow]) -> int:
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO sms_outbox (alert_id, alert_ids, recipient_id, phone_e164, kind, "
                "subject, body, template, stage, technical) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(r.alert_id, list(r.alert_ids), r.recipient_id, r.phone_e164, r.kind,
                  r.subject, r.body, r.template, r.stage, r.technical) for r in rows],
            )  # fmt: skip
    return len(rows)


@dataclass(frozen=True)
class Sent:
    recipient_id: str
    created_at: datetime
    stage: str | None  # None: queued before migration 0008
    technical: bool


async def recent_sends(conn: Conn, since: datetime) -> list[Sent]:
    """Messages queued after `since`, oldest first."""
    rows = await fetch_rows(
        conn,
        "SELECT recipient_id, created_at, stage, technical FROM sms_outbox "
        "WHERE created_at > %s AND recipient_id IS NOT NULL ORDER BY created_at",
        (since,),
    )
    return [
        Sent(str(r["recipient_id"]), r["created_at"], r["stage"], bool(r["technical"]))
        for r in rows
    ]


async def messages_of_alert(conn: Conn, db_id: int) -> list[dict[str, Any]]:
    """Every message that announced this alert, with its recipient's name and its
    delivery reports; the number is unmasked (the caller masks)."""
    return await fetch_rows(
        conn,
        "SELECT o.id, o.recipient_id, r.name AS recipient, o.phone_e164, o.kind, o.template, "
        "o.subject, o.body, o.status, o.attempts, o.created_at, o.sent_at, o.final_at, "
        "o.last_error, (SELECT coalesce(json_agg(json_build_object('status', d.status, "
        "'provider_status', d.provider_status, 'received_at', d.received_at) "
        "ORDER BY d.id), '[]') FROM delivery_reports d WHERE d.outbox_id = o.id) AS reports "
        "FROM sms_outbox o LEFT JOIN recipients r ON r.id = o.recipient_id "
        "WHERE o.alert_id = %s OR %s = ANY(o.alert_ids) ORDER BY o.id",
        (db_id, db_id),
    )


# -- the dispatcher ------------------------------------------------------------------------

_CLAIM = """
UPDATE sms_outbox o SET status = 'sending', next_attempt_at = now() + %(lease)s,
       provider = %(provider)s
  FROM (SELECT id, handed_over_at FROM sms_outbox s
         WHERE s.next_attempt_at <= now()
           AND (s.status = 'pending'
                OR (s.status = 'sending' AND (s.handed_over_at IS NULL
                    OR (%(uncertain_ok)s
                        AND s.handed_over_at <= now() - %(lease)s - %(grace)s))))
           AND NOT EXISTS (SELECT 1 FROM delivery_reports r WHERE r.outbox_id = s.id)
         ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) due
 WHERE o.id = due.id
RETURNING o.id, o.phone_e164, o.kind, o.subject, o.body, o.attempts,
          extract(epoch FROM now() - o.created_at) AS age_s, due.handed_over_at
"""
_HAND_OVER = (
    "UPDATE sms_outbox SET handed_over_at = now(), attempts = attempts + 1, "
    "next_attempt_at = now() + %s WHERE id = %s AND status = 'sending'"
)
_ACCEPTED = (
    "UPDATE sms_outbox SET status = CASE WHEN status = 'sending' THEN 'sent' ELSE status END, "
    "sent_at = now(), provider_message_id = %s, last_error = NULL WHERE id = %s"
)
_RETRY = (
    "UPDATE sms_outbox SET status = 'pending', handed_over_at = NULL, last_error = %s, "
    "next_attempt_at = now() + %s WHERE id = %s AND status = 'sending'"
)
# Refused this time (the gateway did not take it), but an earlier submit may still be in
# the gateway: the row stays uncertain, with the handover that made it so.
_RETRY_UNCERTAIN = (
    "UPDATE sms_outbox SET handed_over_at = %s, last_error = %s, next_attempt_at = now() + %s "
    "WHERE id = %s AND status = 'sending'"
)
_FAILED = "UPDATE sms_outbox SET status = 'failed', last_error = %s, final_at = now() WHERE id = %s"
_UNCLAIM = (
    "UPDATE sms_outbox SET status = 'pending', next_attempt_at = now() + %s "
    "WHERE id = ANY(%s) AND status = 'sending' AND handed_over_at IS NULL"
)


@dataclass(frozen=True)
class Claimed:
    oid: int
    phone_e164: str
    kind: SmsKind
    subject: str | None
    body: str
    attempts: int
    age_s: float
    # Set when an earlier submit got no answer: the gateway may hold the message.
    uncertain_since: datetime | None = None


async def claim(
    conn: Conn,
    *,
    lease: timedelta,
    grace: timedelta,
    limit: int,
    provider: str,
    uncertain_ok: bool = True,
) -> list[Claimed]:
    """Due rows marked 'sending' under a lease for this dispatcher: pending ones, and,
    when `uncertain_ok`, ones handed over with no answer and no report for lease + grace
    (the caller says whether the gateway has been taking messages long enough for a
    report of anything it held to have come back)."""
    cur = await conn.execute(
        _CLAIM,
        {"lease": lease, "grace": grace, "limit": limit, "provider": provider,
         "uncertain_ok": uncertain_ok},
    )  # fmt: skip
    return [
        Claimed(int(oid), phone, cast(SmsKind, kind), subject, body, int(att), float(age),
                since)
        for oid, phone, kind, subject, body, att, age, since in await cur.fetchall()
    ]  # fmt: skip


async def hand_over(conn: Conn, oid: int, lease: timedelta) -> None:
    await conn.execute(_HAND_OVER, (lease, oid))


async def accepted(conn: Conn, oid: int, provider_message_id: str | None) -> None:
    await conn.execute(_ACCEPTED, (provider_message_id, oid))


async def retry_later(conn: Conn, oid: int, error: str | None, delay: timedelta) -> None:
    await conn.execute(_RETRY, (error, delay, oid))


async def retry_uncertain(
    conn: Conn, oid: int, since: datetime, error: str | None, delay: timedelta
) -> None:
    await conn.execute(_RETRY_UNCERTAIN, (since, error, delay, oid))


async def failed(conn: Conn, oid: int, error: str | None) -> None:
    await conn.execute(_FAILED, (error, oid))


async def unclaim(conn: Conn, oids: list[int], delay: timedelta) -> None:
    """Put back claimed rows that were never handed over."""
    await conn.execute(_UNCLAIM, (delay, oids))


_WAITING_DEPTH = """
SELECT status, count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)
  FROM sms_outbox WHERE status IN ('pending', 'sending') GROUP BY status
"""


async def waiting_depth(conn: Conn) -> list[tuple[Any, ...]]:
    """(status, messages, age of the oldest in s) for pending and sending messages."""
    return list(await (await conn.execute(_WAITING_DEPTH)).fetchall())


async def listen(conn: Conn) -> None:
    """LISTEN on this schema's channel, announced by every insert (migration 0007)."""
    row = await (await conn.execute("SELECT current_schema()")).fetchone()
    channel = f"cp_outbox_{row[0] if row else 'public'}"
    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))


# -- delivery reports ----------------------------------------------------------------------

_FINAL = {"delivered": "delivered", "failed": "failed", "rejected": "failed", "expired": "failed"}


class UnknownMessage(LookupError):
    """A report for no message we handed to that gateway: forged or misrouted."""


# Handed over at least once (attempts counts hand-overs and is never reset): a message
# whose send timed out may still be reported by the gateway that took it.
_HANDED_TO = "SELECT id FROM sms_outbox WHERE id = %s AND provider = %s AND attempts > 0"


async def record_report(
    conn: Conn, message_id: str | None, provider_message_id: str | None, status: str,
    provider_status: str, *, handed_to: str | None = None, schema: str | None = None,
) -> None:  # fmt: skip
    """Keep a delivery report; a final one settles its message unless already final.
    Idempotent: a late report never moves a message back.

    `handed_to`: the gateway the report came from over an open channel (Kannel's
    callback); a report naming a message not handed to it raises UnknownMessage.
    `schema`: a drill's schema, whose outbox the report is for (its tables only, for this
    transaction; a schema that is not there raises UnknownMessage, never falls through)."""
    async with conn.transaction():
        if schema is not None:
            await _into_schema(conn, schema)
        if handed_to is not None:
            digits = message_id or ""
            found = None
            if digits.isascii() and digits.isdigit() and len(digits) <= 18:
                found = await (await conn.execute(_HANDED_TO, (int(digits), handed_to))).fetchone()
            if found is None:
                raise UnknownMessage(f"no message {digits[:20]!r} was handed to {handed_to}")
            outbox_id: int | None = int(found[0])
        elif message_id is not None and message_id.isdigit():
            outbox_id = int(message_id)
        else:  # an SMPP receipt after a restart names only the provider's id
            row = await (
                await conn.execute(
                    "SELECT id FROM sms_outbox WHERE provider_message_id = %s",
                    (provider_message_id,),
                )
            ).fetchone()
            outbox_id = int(row[0]) if row else None
        if outbox_id is None:
            return
        await conn.execute(
            "INSERT INTO delivery_reports (outbox_id, status, provider_status) VALUES (%s, %s, %s)",
            (outbox_id, status, provider_status),
        )
        final = _FINAL.get(status)
        if final is not None:
            await conn.execute(
                "UPDATE sms_outbox SET status = %s, final_at = now() WHERE id = %s "
                "AND status NOT IN ('delivered', 'failed')",
                (final, outbox_id),
            )


async def _into_schema(conn: Conn, schema: str) -> None:
    """The rest of this transaction reads and writes `schema`'s outbox: its table locked
    first (so it cannot be dropped meanwhile), then the search_path set to it alone."""
    ident = sql.Identifier(schema)
    try:
        await conn.execute(sql.SQL("LOCK TABLE {}.sms_outbox IN ROW EXCLUSIVE MODE").format(ident))
    except (errors.UndefinedTable, errors.InvalidSchemaName):
        raise UnknownMessage(f"no outbox in schema {schema[:40]!r}") from None
    await conn.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(ident))


# A drill's schema (citypulse/cli/drill.py): every row starts with the exercise marker of
# its recipient's language, whichever path wrote it, and an LMS subject is the marker's
# word; a body that outgrows an SMS with it becomes an LMS (EUC-KR: one byte per ASCII
# character, two for the others).
_DRILL_MARK = """
CREATE OR REPLACE FUNCTION {schema}.drill_mark_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    marker text := {ko};
BEGIN
    IF (SELECT language FROM {schema}.recipients WHERE id = NEW.recipient_id) = 'en' THEN
        marker := {en};
    END IF;
    IF left(NEW.body, length(marker)) <> marker THEN
        NEW.body := marker || NEW.body;
        -- A gateway without subjects sends "[subject]\\n" first: the subject is the marker
        -- word, so the phone shows "[DRILL]" / "[훈련]" first either way.
        IF NEW.subject IS NOT NULL THEN
            NEW.subject := btrim(marker, '[] ');
        END IF;
        IF NEW.kind = 'sms' AND length(NEW.body)
                + length(regexp_replace(NEW.body, '[\\x01-\\x7f]', '', 'g')) > {sms_max} THEN
            NEW.kind := 'lms';
            NEW.subject := coalesce(NEW.subject, btrim(marker, '[] '));
        END IF;
    END IF;
    RETURN NEW;
END $$
"""


async def install_drill_marker(conn: Conn, schema: str, ko: str, en: str) -> None:
    """The trigger that marks every outbox row of `schema` (a drill's, never the live)."""

    ident = sql.Identifier(schema)
    await conn.execute(
        sql.SQL(_DRILL_MARK).format(
            schema=ident,
            ko=sql.Literal(ko),
            en=sql.Literal(en),
            sms_max=sql.Literal(SMS_MAX_BYTES),
        )
    )
    await conn.execute(
        sql.SQL("DROP TRIGGER IF EXISTS sms_outbox_drill_mark ON {}.sms_outbox").format(ident)
    )
    await conn.execute(
        sql.SQL(
            "CREATE TRIGGER sms_outbox_drill_mark BEFORE INSERT ON {schema}.sms_outbox "
            "FOR EACH ROW EXECUTE FUNCTION {schema}.drill_mark_outbox()"
        ).format(schema=ident)
    )


async def status_counts(conn: Conn) -> list[tuple[str, int]]:
    cur = await conn.execute("SELECT status, count(*) FROM sms_outbox GROUP BY 1 ORDER BY 1")
    return [(str(s), int(n)) for s, n in await cur.fetchall()]


async def bodies(conn: Conn) -> list[str]:
    """Every text in the outbox, oldest first (a drill's check of its marker)."""
    cur = await conn.execute("SELECT body FROM sms_outbox ORDER BY id")
    return [str(b) for (b,) in await cur.fetchall()]


# -- the record after an incident (dashboard_api/record) ------------------------------------


async def messages_of_alerts(conn: Conn, db_ids: list[int]) -> list[dict[str, Any]]:
    """Every message that announced one of these alerts, with its recipient's name and
    its delivery reports, oldest first; the number is unmasked (the caller masks)."""
    return await fetch_rows(
        conn,
        "SELECT o.id, o.alert_id, o.alert_ids, o.recipient_id, r.name AS recipient, "
        "o.phone_e164, o.kind, o.template, o.body, o.status, o.attempts, o.provider, "
        "o.created_at, o.sent_at, o.final_at, o.last_error, "
        "(SELECT coalesce(json_agg(json_build_object('status', d.status, "
        "'provider_status', d.provider_status, 'received_at', d.received_at) "
        "ORDER BY d.id), '[]') FROM delivery_reports d WHERE d.outbox_id = o.id) AS reports "
        "FROM sms_outbox o LEFT JOIN recipients r ON r.id = o.recipient_id "
        "WHERE o.alert_id = ANY(%s) OR o.alert_ids && %s::bigint[] ORDER BY o.id",
        (db_ids, db_ids),
    )
