"""The HTTP endpoint Kannel calls with delivery reports (mount it in the API app)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse

from alerts.providers.base import ReportSink
from alerts.providers.clock import Clock, utc_now
from alerts.providers.kannel_dlr import DlrParseError, parse_kannel_dlr

log = logging.getLogger(__name__)

DLR_PATH = "/sms/dlr/kannel"


def build_kannel_dlr_router(on_report: ReportSink, *, clock: Clock = utc_now) -> APIRouter:
    router = APIRouter()

    @router.get(DLR_PATH, response_class=PlainTextResponse)
    async def receive_kannel_dlr(request: Request) -> str:
        """Delivery report from Kannel's dlr-url."""
        try:
            report = parse_kannel_dlr(dict(request.query_params), clock())
        except DlrParseError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        # A sink failure answers 500, so smsbox retries (http-request-retry in kannel.conf).
        await on_report(report)
        return "ok"

    return router
