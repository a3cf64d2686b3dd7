"""The API app for in-process tests: built once per test process, bound to each test's
context.

`create_app` builds the routes (FastAPI analyses every route's dependencies: most of
its cost, about a second) and binds a context; the routes do not depend on the context, so
the tests build them once (`build_app`) and only bind (`bind_app`). Use `create_app`
itself where one test needs two apps alive over different contexts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import FastAPI

from services.api.app import bind_app, build_app
from services.runtime.app.context import ServiceContext
from services.runtime.app.workspaces import Installation


@cache
def _built(cors_origins: tuple[str, ...]) -> FastAPI:
    return build_app(cors_origins=cors_origins)


def app_for(
    ctx: ServiceContext,
    *,
    installation: Installation | None = None,
    config_dir: str | Path | None = None,
) -> FastAPI:
    """The test process's app, now bound to `ctx` (as `create_app(ctx)` would build it)."""
    app = _built(tuple(ctx.settings.api.cors_origins))
    if installation is None and config_dir is None and getattr(app.state, "ctx", None) is ctx:
        return app  # a second client on the same context shares its installation
    bind_app(app, ctx, installation=installation, config_dir=config_dir)
    return app
