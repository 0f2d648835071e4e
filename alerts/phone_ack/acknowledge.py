"""Acknowledging from the phone, in the database: a signed link used once, or a reply
from a recipient's number. Either acknowledges through alerts.operations, so the alert
audit names the recipient as it names an operator. Numbers leave here masked only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.exceptions import AlertNotFound
from alerts.lifecycle import InvalidTransition
from alerts.operations import acknowledge_alert
from alerts.phone_ack.links import LinkForged, verify_link
from alerts.recipients import PhoneNumberError, normalize_phone
from alerts.tables import Conn
from alerts.tables import alerts as alert_table
from alerts.tables import phone_ack as table
from alerts.tables import recipients as recipient_table
from citypulse.domain.phones import mask_phone

log = logging.getLogger(__name__)


class LinkUsed(ValueError):
    """A link used before (answer 410: it acknowledged once already)."""


class AlertClosed(ValueError):
    """The alert was resolved before the link was used (answer 409)."""


@dataclass(frozen=True)
class PhoneAck:
    alert_id: int
    recipient_name: str


def _actor(name: str, how: str) -> str:
    return f"{name} ({how})"


async def link_target(conn: Conn, secret: str, token: str, now: datetime) -> PhoneAck:
    """Who and what a link would acknowledge (the confirmation page); raises as `by_link`
    except LinkUsed, which only a use can tell for sure."""
    link = verify_link(secret, token, now)
    name = await recipient_table.recipient_name(conn, link.recipient_id)
    if name is None:
        raise LinkForged("not an acknowledgement link")
    return PhoneAck(link.alert_id, name)


async def acknowledge_by_link(conn: Conn, secret: str, token: str, now: datetime) -> PhoneAck:
    """LinkForged, LinkExpired, LinkUsed or AlertClosed, else the acknowledgement made:
    the use and the acknowledgement are stored together or not at all."""
    link = verify_link(secret, token, now)
    async with conn.transaction():
        name = await recipient_table.recipient_name(conn, link.recipient_id)
        if name is None:
            raise LinkForged("not an acknowledgement link")
        if not await table.use_link(conn, link.mac, link.alert_id, link.recipient_id):
            raise LinkUsed("this link was used already")
        try:
            await acknowledge_alert(conn, link.alert_id, _actor(name, "SMS link"))
        except AlertNotFound:
            raise LinkForged("not an acknowledgement link") from None
        except InvalidTransition:
            raise AlertClosed("this alert is closed already") from None
    log.info("alert %s acknowledged by SMS link by recipient %s", link.alert_id, link.recipient_id)
    return PhoneAck(link.alert_id, name)


async def acknowledge_by_reply(
    conn: Conn, sender: str, now: datetime, window: timedelta
) -> PhoneAck | None:
    """The newest open alert texted to `sender` within `window`, acknowledged in the
    recipient's name; None (logged, masked) for a stranger or nothing to acknowledge."""
    try:
        phone = normalize_phone(sender)
    except PhoneNumberError:
        log.info("reply from %s ignored: not a Korean mobile number", mask_phone(sender))
        return None
    recipients = await recipient_table.active_recipients_by_phone(conn, phone)
    if not recipients:
        log.info("reply from %s ignored: not a recipient", mask_phone(phone))
        return None
    found = await alert_table.newest_open_alert_texted(
        conn, [int(r["id"]) for r in recipients], now - window
    )
    if found is None:
        log.info("reply from %s ignored: no open alert texted to them", mask_phone(phone))
        return None
    alert_id, recipient_id = found
    name = next(str(r["name"]) for r in recipients if int(r["id"]) == recipient_id)
    try:
        await acknowledge_alert(conn, alert_id, _actor(name, "SMS reply"))
    except (AlertNotFound, InvalidTransition):
        log.info("reply from %s ignored: alert %s closed meanwhile", mask_phone(phone), alert_id)
        return None
    log.info("alert %s acknowledged by SMS reply by recipient %s", alert_id, recipient_id)
    return PhoneAck(alert_id, name)
