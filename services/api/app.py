"""The FastAPI application: everything under /api/v1, docs at /docs, the dashboard at
/dashboard/."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from services.api.dashboard import mount_dashboard
from services.api.metrics import RequestMetrics
from services.api.metrics import router as metrics_router
from services.api.problems import install_problem_handlers
from services.api.routers import (
    alert_charts,
    alert_events,
    alert_rules,
    authors,
    brands,
    corrections,
    exports,
    health,
    mentions,
    reanalyze,
    reports,
    saved_searches,
    sources,
    stats,
    topics,
)
from services.runtime.app.context import ServiceContext

API_PREFIX = "/api/v1"
DOCS_ASSETS = "/docs-assets"

DESCRIPTION = """
Veille collects what forums, blogs, news feeds and social networks say about your
brands and competitors, analyzes it (language, brands, sentiment) and lets you
search and measure it.

Authenticate with an API key (`veille keys create`) in the `X-API-Key` header.
Errors are [problem details](https://www.rfc-editor.org/rfc/rfc9457) with a
`detail` written for people.
"""


def create_app(ctx: ServiceContext) -> FastAPI:
    """Builds the API app around a service context."""
    # FastAPIOffline serves Swagger UI's and ReDoc's scripts from Veille itself, so the
    # docs work on a machine with no internet (FastAPI's own pages load them from a CDN).
    app = FastAPIOffline(
        title="Veille",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url="/redoc",
        static_url=DOCS_ASSETS,
    )
    app.state.ctx = ctx
    install_problem_handlers(app)
    app.add_middleware(RequestMetrics)
    if ctx.settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=ctx.settings.api.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (
        health,
        mentions,
        stats,
        authors,
        exports,
        sources,
        brands,
        saved_searches,
        alert_rules,
        alert_events,
        alert_charts,
        topics,
        corrections,
        reanalyze,
        reports,
    ):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(metrics_router)
    mount_dashboard(app)
    return app
