"""Security headers on every response: what the page may load, that no other site may
frame it, no MIME sniffing, and no URL (with its query) leaked as a referrer."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

from dashboard_api.core.middleware import CallNext, Middleware

# /docs and /redoc are FastAPI's pages with an inline bootstrap script; only they get it.
DOC_PATHS = ("/docs", "/redoc")


def tile_source(tile_url: str) -> str:
    """The CSP source of the base map's tiles ("https://*.tile.example.org"), or ""."""
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.netloc.replace("{s}.", "*.")
    if "{" in host or " " in host or ";" in host:
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{host}"


def page_policy(tile_url: str) -> str:
    tiles = tile_source(tile_url)
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # style attributes in the page and Leaflet
            f"img-src 'self' data: blob: {tiles}".rstrip(),
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def security_headers(tile_url: str) -> Middleware:
    policy = page_policy(tile_url)

    async def middleware(request: Request, call_next: CallNext) -> Response:
        response = await call_next(request)
        docs = request.url.path in DOC_PATHS
        response.headers.setdefault("Content-Security-Policy", DOCS_POLICY if docs else policy)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return middleware
