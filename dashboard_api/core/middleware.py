"""HTTP middleware: the anonymous rate limit and the request metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from dashboard_api.core import metrics
from dashboard_api.core.ratelimit import RateLimiter

CallNext = Callable[[Request], Awaitable[Response]]


def rate_limit(limiter: RateLimiter) -> Callable[[Request, CallNext], Awaitable[Response]]:
    """Anonymous callers of /api/ are limited per client IP; signed-in staff are not, so a
    crowd of public viewers cannot lock the control room out."""

    async def middleware(request: Request, call_next: CallNext) -> Response:
        if request.url.path.startswith("/api/") and "authorization" not in request.headers:
            client = request.client.host if request.client else "unknown"
            wait = limiter.allow(client, time.monotonic())
            if wait > 0:
                metrics.RATE_LIMITED.inc()
                return JSONResponse(
                    {"detail": "rate limit exceeded, retry later"},
                    status_code=429,
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
        return await call_next(request)

    return middleware


async def count_requests(request: Request, call_next: CallNext) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    # The route template, never the raw path: bounded label values, no ids in metrics.
    path = getattr(route, "path", None) or "unmatched"
    metrics.HTTP_REQUESTS.inc(method=request.method, route=path, status=str(response.status_code))
    metrics.HTTP_SECONDS.inc(time.perf_counter() - started, route=path)
    return response
