"""HTTP middleware: rate limits, refusing oversized or malformed requests, the request id
and the request metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from fastapi import HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerts.providers.kannel_callback import DLR_PATH
from citypulse.logs import request_id
from dashboard_api.core.addresses import Network, client_address
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.core.ratelimit import RateLimiter
from dashboard_api.core.security import TokenError, decode_token

CallNext = Callable[[Request], Awaitable[Response]]
Middleware = Callable[[Request, CallNext], Awaitable[Response]]
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and plain: it ends up in every log line.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Any other method a caller invents is counted as "other", so labels stay bounded.
SMS_PREFIX = "/sms/"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RateLimits:
    """Buckets every HTTP request draws from, whatever its path or headers."""

    anonymous: RateLimiter  # per client address
    staff: RateLimiter  # per signed-in user; only a token that verifies counts
    sms: RateLimiter  # per gateway address: Kannel's delivery reports come in bursts
    jwt_secret: str
    proxies: tuple[Network, ...] = ()

    def bucket(self, request: Request) -> tuple[RateLimiter, str]:
        address = client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            self.proxies,
        )
        if request.url.path.startswith(SMS_PREFIX):
            return self.sms, address
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            try:
                # Signature and expiry only: the route re-checks the account. A header
                # that does not verify is an anonymous request like any other.
                return self.staff, "user:" + decode_token(token, self.jwt_secret)["sub"]
            except TokenError:
                pass
        return self.anonymous, address


def rate_limit(limits: RateLimits, metrics: ApiMetrics) -> Middleware:
    """Every route is limited: anonymous callers per address, staff per user, so a
    crowd of public viewers cannot lock the control room out."""

    async def middleware(request: Request, call_next: CallNext) -> Response:
        limiter, key = limits.bucket(request)
        wait = limiter.allow(key, time.monotonic())
        if wait > 0:
            metrics.rate_limited.inc()
            return JSONResponse(
                {"detail": "rate limit exceeded, retry later"},
                status_code=429,
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        return await call_next(request)

    return middleware


def refuse_bad_requests(max_body_bytes: int) -> Middleware:
    """A body declared larger than the API takes is refused before it is read (413); a
    query with control characters (NUL and friends) is a 400, not a database error."""

    async def middleware(request: Request, call_next: CallNext) -> Response:
        declared = request.headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > max_body_bytes):
            return JSONResponse({"detail": "request body too large"}, status_code=413)
        query = unquote(request.url.query)
        # Kannel's delivery reports carry the SMSC's receipt text, which quotes the message
        # (an LMS's "[subject]\n..."): that route cleans its own query (kannel_dlr.py).
        if request.url.path != DLR_PATH and any(ord(c) < 32 or ord(c) == 127 for c in query):
            return JSONResponse(
                {"detail": "control characters in the query string"}, status_code=400
            )
        return await call_next(request)

    return middleware


class BodyLimit:
    """Counts a request body as it arrives and refuses it 413 once past the limit. The
    declared-size check in `refuse_bad_requests` cannot see a chunked body (no
    Content-Length), which would otherwise be read whole, however large."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    # Raised where the route reads its body, inside the exception
                    # middleware, so the caller gets the same 413 as a declared size.
                    raise HTTPException(413, "request body too large")
            return message

        await self.app(scope, limited, send)


def incoming_request_id(header: str | None) -> str:
    """The caller's X-Request-ID when it is safe to log, otherwise a new one."""
    if header is not None and _SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def observe_requests(metrics: ApiMetrics) -> Middleware:
    """Counts and times each request by route template; gives it a request id that its
    log lines carry and that the response returns in X-Request-ID."""

    async def middleware(request: Request, call_next: CallNext) -> Response:
        rid = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = "500"  # an exception out of a route is answered 500 further out
        try:
            response = await call_next(request)
            status = str(response.status_code)
        finally:
            request_id.reset(token)
            route = request.scope.get("route")
            # The route template, never the raw path: bounded label values, no ids.
            path = getattr(route, "path", None) or "unmatched"
            method = request.method if request.method in _METHODS else "other"
            labels = {"method": method, "route": path, "status": status}
            metrics.requests.labels(**labels).inc()
            metrics.request_seconds.labels(**labels).observe(time.perf_counter() - started)
        response.headers[REQUEST_ID_HEADER] = rid
        return response

    return middleware
