"""The FastAPI application: everything under /api/v1, docs at /docs, the dashboard at
/dashboard/."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from services.alerting.notifiers.base import DeliveryError
from services.api.dashboard import mount_dashboard
from services.api.deps import authorize, register_routes
from services.api.input_guard import InputGuard
from services.api.metrics import RequestMetrics
from services.api.metrics import router as metrics_router
from services.api.oidc import OidcClient, build_client
from services.api.problems import document_problems, install_problem_handlers
from services.api.routers import (
    alert_charts,
    alert_events,
    alert_rules,
    authors,
    brands,
    corrections,
    exports,
    governance,
    health,
    mentions,
    oidc,
    reanalyze,
    reports,
    saved_searches,
    sources,
    stats,
    tenancy,
    topics,
    triage,
)
from services.api.sign_in_throttle import SignInThrottle
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation

log = logging.getLogger("veille.api")

API_PREFIX = "/api/v1"
DOCS_ASSETS = "/docs-assets"

DESCRIPTION = """
Veille collects what forums, blogs, news feeds and social networks say about your
brands and competitors, analyzes it (language, brands, sentiment) and lets you
search and measure it.

Authenticate with an API key (`veille keys create`) in the `X-API-Key` header.
A key belongs to one workspace and has a role there (admin, analyst, member,
viewer); every route answers only with that workspace's data, and a route the role
may not use answers 403 naming the missing permission.
Errors are [problem details](https://www.rfc-editor.org/rfc/rfc9457) with a
`detail` written for people.
"""


def create_app(
    ctx: ServiceContext,
    *,
    installation: Installation | None = None,
    config_dir: str | Path | None = None,
) -> FastAPI:
    """Builds the API app around the default workspace's service context (and the
    installation holding the other workspaces, built around it when not given)."""
    app = build_app(cors_origins=tuple(ctx.settings.api.cors_origins))
    bind_app(app, ctx, installation=installation, config_dir=config_dir)
    return app


def bind_app(
    app: FastAPI,
    ctx: ServiceContext,
    *,
    installation: Installation | None = None,
    config_dir: str | Path | None = None,
) -> None:
    """Points a built app at a service context: the routes find it in `app.state`."""
    app.state.ctx = ctx
    app.state.installation = installation or Installation(ctx, config_dir=config_dir)
    app.state.oidc = _oidc_client(ctx)
    app.state.sign_in_throttle = SignInThrottle()


def build_app(*, cors_origins: tuple[str, ...] = ()) -> FastAPI:
    """The app's routes, middleware and docs, bound to no context yet (`bind_app`).

    They do not depend on the context, and building them (FastAPI analysing every route's
    dependencies) is most of `create_app`'s cost: the tests build one app and bind each
    test's context to it.
    """
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
    app.state.route_paths = {}
    install_problem_handlers(app)
    app.add_middleware(InputGuard)
    app.add_middleware(RequestMetrics)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
        )
    v1 = APIRouter(prefix=API_PREFIX, dependencies=[Depends(authorize)])
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
        governance,
        triage,
        tenancy,
        oidc,
    ):
        v1.include_router(module.router)
        register_routes(app.state.route_paths, API_PREFIX, module.router)
    app.include_router(v1)
    app.include_router(metrics_router)
    mount_dashboard(app)
    generate = app.openapi  # FastAPI's: builds the document once and keeps it
    app.openapi = lambda: document_problems(generate())  # type: ignore[method-assign]
    return app


def _oidc_client(ctx: ServiceContext) -> OidcClient | None:
    """The OIDC provider's client, or None when not configured; a client secret that is
    named but not set switches OIDC sign-in off with a warning (`veille config check`
    reports it as an error)."""
    settings = ctx.settings.api.oidc
    if settings is None:
        return None
    try:
        return build_client(settings)
    except DeliveryError as exc:
        log.warning("OIDC sign-in is off: %s", exc)
        return None
