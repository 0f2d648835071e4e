"""The HTTP endpoint Kannel calls with delivery reports (mount it in the API app).

Closed to strangers: a report must carry the `sig` we put in that message's dlr-url
(kannel_dlr.py), may be limited to the gateways' addresses, is rate-limited per client,
and the sink refuses one for a message it never handed to Kannel (LookupError -> 404).
Every refusal is a 4xx; a sink that cannot reach its database answers 503, so smsbox
calls again (http-request-retry in kannel.conf) instead of losing a real report.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from pydantic import SecretStr

from alerts.providers.base import DeliveryReport, ReportSink
from alerts.providers.clock import Clock, utc_now
from alerts.providers.kannel_dlr import (
    DlrParseError,
    DlrSignatureError,
    drill_dlr_secret,
    drill_of,
    parse_kannel_dlr,
)

log = logging.getLogger(__name__)

DLR_PATH = "/sms/dlr/kannel"
SINK_TIMEOUT_S = 5.0  # a report waiting longer for the database is answered 503
MAX_QUERY_BYTES = 2048  # Kannel's dlr-url with an SMPP receipt text is a few hundred


class RateLimit(Protocol):
    def allow(self, client: str, now: float) -> float:
        """0.0 when the request may pass, else the seconds to wait."""
        ...


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_sources(sources: Iterable[str]) -> tuple[Network, ...]:
    """Gateway addresses or networks ("10.0.0.5", "10.0.0.0/24"); ValueError if malformed."""
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in sources if s.strip())


def source_allowed(host: str | None, allowed: tuple[Network, ...]) -> bool:
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(address in network for network in allowed)


DrillReportSink = Callable[[str, DeliveryReport], Awaitable[None]]


def build_kannel_dlr_router(
    on_report: ReportSink,
    *,
    secret: SecretStr,
    on_drill_report: DrillReportSink | None = None,
    allowed_sources: Iterable[str] = (),
    limiter: RateLimit | None = None,
    clock: Clock = utc_now,
) -> APIRouter:
    router = APIRouter()
    allowed = parse_sources(allowed_sources)

    @router.get(DLR_PATH, response_class=PlainTextResponse)
    async def receive_kannel_dlr(request: Request) -> str:
        """Delivery report from Kannel's dlr-url (signed per message)."""
        client = request.client.host if request.client else None
        if limiter is not None:
            wait = limiter.allow(client or "unknown", time.monotonic())
            if wait > 0:
                raise HTTPException(
                    429, "too many delivery reports", {"Retry-After": str(max(1, round(wait)))}
                )
        if not source_allowed(client, allowed):
            raise HTTPException(403, "not a configured SMS gateway address")
        if len(request.scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            raise HTTPException(414, "delivery report too long")
        params = dict(request.query_params)
        try:
            # A drill's report (`drill=<id>`): signed with that drill's secret, recorded
            # in that drill's outbox only (on_drill_report), never in the live one.
            drill_id = drill_of(params)
            key = secret.get_secret_value()
            report = parse_kannel_dlr(
                params, clock(), drill_dlr_secret(key, drill_id) if drill_id else key
            )
        except DlrSignatureError as exc:
            log.warning("refused a delivery report from %s: %s", client, exc)
            raise HTTPException(403, str(exc)) from exc
        except DlrParseError as exc:
            raise HTTPException(400, str(exc)) from exc
        try:
            async with asyncio.timeout(SINK_TIMEOUT_S):
                if drill_id is None:
                    await on_report(report)
                elif on_drill_report is None:
                    raise LookupError(f"no drills here: {drill_id}")
                else:
                    await on_drill_report(drill_id, report)
        except LookupError as exc:
            raise HTTPException(404, "no message handed to the gateway has this id") from exc
        except Exception as exc:
            log.warning("cannot record delivery report %s: %r", report.message_id, exc)
            raise HTTPException(503, "cannot record the report now; call again") from exc
        return "ok"

    return router
