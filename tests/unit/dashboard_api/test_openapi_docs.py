"""The API documents itself offline: one error model, docs assets served locally."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citypulse.settings import Settings
from dashboard_api.main import create_app
from dashboard_api.webapp import VENDOR

ERROR_STATUSES = ("401", "403", "404", "409", "429")


def _app() -> FastAPI:
    config = Settings.from_env()
    return create_app(config.stack, config.api, config.sms)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return _app().openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/")
    ]


def test_every_api_route_documents_the_error_statuses_with_one_model(
    spec: dict[str, Any],
) -> None:
    ops = operations(spec)
    assert len(ops) > 15
    for method, path, op in ops:
        for status in ERROR_STATUSES:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["detail"]


def test_every_api_route_has_a_typed_response_model(spec: dict[str, Any]) -> None:
    untyped = []
    for method, path, op in operations(spec):
        ok = next((op["responses"][s] for s in ("200", "201") if s in op["responses"]), None)
        if ok is None:  # 204: no body; 3xx: a browser redirect (the OIDC sign-in)
            statuses = op["responses"]
            assert "204" in statuses or any(s.startswith("3") for s in statuses), (method, path)
            continue
        content = ok.get("content", {})
        if content and "application/json" not in content:
            continue  # a file (CSV): its media type is its type
        schema = content.get("application/json", {}).get("schema", {})
        ref = schema.get("items", schema).get("$ref", "")
        if not ref.startswith("#/components/schemas/"):
            untyped.append(f"{method} {path}")
    assert untyped == []


def test_docs_pages_load_their_assets_from_the_api_itself() -> None:
    client = TestClient(_app())  # no lifespan: nothing here needs the database
    for page, asset in (
        ("/docs", "/static/vendor/swagger-ui/swagger-ui-bundle.js"),
        ("/redoc", "/static/vendor/redoc/redoc.standalone.js"),
    ):
        html = client.get(page).text
        assert asset in html and "https://" not in html, page
        assert client.get(asset).status_code == 200, asset
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert all(folder.is_dir() for folder in VENDOR.values())
