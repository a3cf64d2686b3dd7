"""The dashboard: a static page (HTML, CSS, JavaScript in `static/`) that reads the API.

Served at /dashboard/ without a key: the page holds no data. It asks for an API key and
sends it with its own requests to /api/v1, like any other client. The Content Security
Policy lets it load only its own files and talk only to this server, so a hostile
mention, even if it got past the page's escaping, could not load or send anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from services.core.function_words import STOP_WORDS

DASHBOARD_PATH: Final = "/dashboard"
FILES: Final = Path(__file__).resolve().parent / "static"
POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class _DashboardFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"  # a new version shows at once
        return response


def mount_dashboard(app: FastAPI) -> None:
    """Serves the dashboard at /dashboard/, and sends visitors of / there."""

    @app.get(f"{DASHBOARD_PATH}/function-words.json", include_in_schema=False)
    def function_words() -> list[str]:
        """The folded function words the page leaves out of its "why" words."""
        return sorted(STOP_WORDS)

    app.mount(DASHBOARD_PATH, _DashboardFiles(directory=FILES, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{DASHBOARD_PATH}/")
