"""Health: is the service up, and what does it hold."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.deps import ContextDep
from services.store.contracts import MentionFilter

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service health (no API key needed)")
def health(ctx: ContextDep) -> JSONResponse:
    """Reports whether the stores answer, the mention count, the inbox and source states."""
    checks: dict[str, Any] = {}
    healthy = True
    try:
        checks["mentions"] = ctx.index.count(MentionFilter())
    except Exception as exc:
        healthy = False
        checks["mentions"] = f"error: {type(exc).__name__}"
    try:
        checks["inbox"] = ctx.state.inbox_counts()
        states: dict[str, int] = {}
        for source in ctx.state.list_source_statuses():
            states[source.state] = states.get(source.state, 0) + 1
        checks["sources"] = states
    except Exception as exc:
        healthy = False
        checks["state_store"] = f"error: {type(exc).__name__}"
    body = {"status": "ok" if healthy else "degraded", **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
