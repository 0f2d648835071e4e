"""Acknowledging from the phone: the signed link of each alert SMS (`/a/<token>`) and
the route Kannel calls with incoming messages (`/sms/mo/kannel`). Not under /api/v1: a
recipient has no account; the link itself, or the sender's number, says who it is.

GET on a link only shows what it would do (link previewers and virus scanners fetch
links), a POST from that page acknowledges. Plain HTML without script or style, so the
page's CSP holds. Every refusal is a 4xx with a sentence; no response or log line here
carries a phone number.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from alerts.phone_ack.acknowledge import (
    AlertClosed,
    LinkUsed,
    acknowledge_by_link,
    acknowledge_by_reply,
    link_target,
)
from alerts.phone_ack.links import LINK_PATH, LinkExpired, LinkForged, verify_link
from alerts.phone_ack.replies import MAX_REPLY_CHARS, is_acknowledgement, mo_key_matches
from alerts.providers.kannel_callback import parse_sources, source_allowed
from alerts.providers.settings import SmsSettings

log = logging.getLogger(__name__)

MO_PATH = "/sms/mo/kannel"
MO_QUERY = "from=%p&text=%a"  # Kannel's escape codes: sender, the whole text
_PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>CityPulse</title></head>
<body><main><h1>CityPulse</h1>{body}</main></body></html>
"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(body=body), status_code=status)


def _refusal(exc: Exception) -> HTMLResponse:
    if isinstance(exc, LinkExpired):
        return _page("<p>이 링크는 만료되었습니다. This link has expired.</p>", 410)
    if isinstance(exc, LinkUsed):
        return _page("<p>이미 사용된 링크입니다. This link was used already.</p>", 410)
    if isinstance(exc, AlertClosed):
        return _page("<p>이미 종료된 경보입니다. This alert is closed already.</p>", 409)
    return _page("<p>확인 링크가 아닙니다. Not an acknowledgement link.</p>", 404)


def _refused_early(secret: str, token: str) -> HTMLResponse | None:
    try:
        verify_link(secret, token, datetime.now(UTC))
    except (LinkForged, LinkExpired) as exc:
        return _refusal(exc)
    return None


def build_phone_ack_router(sms: SmsSettings) -> APIRouter:
    router = APIRouter()
    secret = sms.ack_secret.get_secret_value()
    allowed = parse_sources(sms.dlr_allowed_sources)
    window = timedelta(seconds=sms.ack_reply_window_s)

    @router.get(LINK_PATH + "{token}", response_class=HTMLResponse)
    async def show_link(token: str, request: Request) -> HTMLResponse:
        """What the link would acknowledge, and a button that does."""
        refused = _refused_early(secret, token)
        if refused is not None:
            return refused  # a forgery costs no database connection
        async with request.app.state.pool.connection() as conn:
            try:
                target = await link_target(conn, secret, token, datetime.now(UTC))
            except (LinkForged, LinkExpired) as exc:
                return _refusal(exc)
        name = html.escape(target.recipient_name)
        action = html.escape(LINK_PATH + token)
        return _page(
            f"<p>경보 #{target.alert_id}을(를) {name} 님의 이름으로 확인합니다.<br>"
            f"Acknowledge alert #{target.alert_id} as {name}.</p>"
            f'<form method="post" action="{action}"><button type="submit">확인 Acknowledge'
            "</button></form>"
        )

    @router.post(LINK_PATH + "{token}", response_class=HTMLResponse)
    async def use_link(token: str, request: Request) -> HTMLResponse:
        """Acknowledge the alert for the recipient the link was texted to; once."""
        refused = _refused_early(secret, token)
        if refused is not None:
            return refused
        async with request.app.state.pool.connection() as conn:
            try:
                ack = await acknowledge_by_link(conn, secret, token, datetime.now(UTC))
            except (LinkForged, LinkExpired, LinkUsed, AlertClosed) as exc:
                return _refusal(exc)
        name = html.escape(ack.recipient_name)
        return _page(
            f"<p>경보 #{ack.alert_id}: {name} 님이 확인했습니다.<br>"
            f"Alert #{ack.alert_id} acknowledged by {name}.</p>"
        )

    @router.get(MO_PATH, response_class=PlainTextResponse)
    async def receive_reply(request: Request) -> PlainTextResponse:
        """An incoming SMS from Kannel's sms-service get-url. Answers with no text
        (nothing is texted back); a reply "1" or "확인" acknowledges."""
        client = request.client.host if request.client else None
        query = request.query_params
        if not source_allowed(client, allowed) or not mo_key_matches(
            secret, query.get("secret", "")
        ):
            return PlainTextResponse("", status_code=403)
        sender, text = query.get("from", "")[:32], query.get("text", "")
        if len(text) > MAX_REPLY_CHARS or not is_acknowledgement(text):
            return PlainTextResponse("")
        async with request.app.state.pool.connection() as conn:
            await acknowledge_by_reply(conn, sender, datetime.now(UTC), window)
        return PlainTextResponse("")

    return router


def mo_callback_url(api_base_url: str, key: str) -> str:
    """The get-url for kannel.conf's sms-service: our route, its key, Kannel's codes."""
    return f"{api_base_url.rstrip('/')}{MO_PATH}?secret={key}&{MO_QUERY}"
