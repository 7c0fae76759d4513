"""`/docs` (Swagger UI) and `/redoc`, served with their JavaScript and CSS from this server:
FastAPI's defaults load them from a CDN, which leaves both pages blank offline or behind a
firewall. The assets come from the `fastapi-offline` package (its static files only)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve /docs and /redoc from local assets (call with docs_url=None, redoc_url=None)."""
    static = resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")
    title = f"{app.title} · docs"

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route("/docs", swagger, include_in_schema=False, methods=["GET"])
    app.add_api_route("/redoc", redoc, include_in_schema=False, methods=["GET"])
