"""Health: is the service up, and what does it hold."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.deps import ContextDep
from services.runtime.app.health import store_health

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service health (no API key needed)")
def health(ctx: ContextDep) -> JSONResponse:
    """Reports whether the stores answer, the mention count, the inbox, `collectors`
    (processes collecting: `veille up`'s own and each `veille collect`), the
    `scheduled_sources` they collect between them, and source states. 'warning' (still
    200: the service works) when collection lags: sources timing out or overdue, listed
    under `warnings`."""
    healthy, checks = store_health(ctx, explain=False)
    status = "ok" if not checks.get("warnings") else "warning"
    body = {"status": status if healthy else "degraded", **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
