"""HTTP middleware: the anonymous rate limit, the request id and the request metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from citypulse.logs import request_id
from dashboard_api.core.metrics import ApiMetrics
from dashboard_api.core.ratelimit import RateLimiter

CallNext = Callable[[Request], Awaitable[Response]]
Middleware = Callable[[Request, CallNext], Awaitable[Response]]
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and plain: it ends up in every log line.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Any other method a caller invents is counted as "other", so labels stay bounded.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def rate_limit(limiter: RateLimiter, metrics: ApiMetrics) -> Middleware:
    """Anonymous callers of /api/ are limited per client IP; signed-in staff are not, so a
    crowd of public viewers cannot lock the control room out."""

    async def middleware(request: Request, call_next: CallNext) -> Response:
        if request.url.path.startswith("/api/") and "authorization" not in request.headers:
            client = request.client.host if request.client else "unknown"
            wait = limiter.allow(client, time.monotonic())
            if wait > 0:
                metrics.rate_limited.inc()
                return JSONResponse(
                    {"detail": "rate limit exceeded, retry later"},
                    status_code=429,
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
        return await call_next(request)

    return middleware


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
