"""The dashboard's files, its browser libraries and the offline API docs.

Leaflet, Swagger UI and ReDoc come from the npm registry (`dashboard_api/vendor/`,
installed by scripts/bootstrap.sh) and are served here under /static/vendor/: the page
and /docs work on a control-room network with no internet.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from dashboard_api.core.config import ApiSettings
from dashboard_api.schemas.errors import ERROR_RESPONSES

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"
NODE_MODULES = Path(__file__).parent / "vendor" / "node_modules"
# URL name -> folder of an npm package holding the files a browser needs.
VENDOR = {
    "leaflet": NODE_MODULES / "leaflet" / "dist",
    "swagger-ui": NODE_MODULES / "swagger-ui-dist",
    "redoc": NODE_MODULES / "redoc" / "bundles",
}


class MapConfig(BaseModel):
    """The base map the page draws under the areas; an empty URL: offline layer only."""

    tile_url: str
    attribution: str


def web_router(settings: ApiSettings, openapi_url: str) -> APIRouter:
    router = APIRouter(responses=ERROR_RESPONSES)

    @router.get("/api/v1/map-config", tags=["dashboard"])
    async def map_config() -> MapConfig:
        """Base-map tiles for the dashboard (CITYPULSE_MAP_TILE_URL and _ATTRIBUTION)."""
        return MapConfig(tile_url=settings.map_tile_url, attribution=settings.map_tile_attribution)

    @router.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title="CityPulse API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/favicon.svg",
        )

    @router.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title="CityPulse API",
            redoc_js_url="/static/vendor/redoc/redoc.standalone.js",
            redoc_favicon_url="/favicon.svg",
            with_google_fonts=False,
        )

    return router


def install_web(app: FastAPI, settings: ApiSettings) -> None:
    """Docs, map config, vendor files, then the page itself (last: it answers any path)."""
    app.include_router(web_router(settings, app.openapi_url or "/openapi.json"))
    for name, folder in VENDOR.items():
        if folder.is_dir():
            app.mount(f"/static/vendor/{name}", StaticFiles(directory=folder), name=name)
        else:
            log.warning("%s is missing: run scripts/bootstrap.sh (npm ci)", folder)
    app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
