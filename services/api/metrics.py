"""`GET /metrics` (Prometheus text format) and the middleware that times every request.

Requests are labelled by route template (`/api/v1/mentions/{mention_id}`), never by the
path a client sent, so ids and queries stay out of the labels and their number stays
bounded; a path no route matches is counted as "unmatched". The endpoint needs no API key,
like most Prometheus targets, and is left out of the OpenAPI document: it holds counts only,
no mention or author. Put it behind the proxy's access rules if the API is public.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core import metrics
from services.store.contracts import MentionFilter

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request) -> Response:
    """Every Veille metric, with the inbox and index gauges read now."""
    ctx = request.app.state.ctx
    counts = ctx.state.inbox_counts()
    for status in ("pending", "leased", "done", "failed"):
        metrics.INBOX_ITEMS.labels(status=status).set(counts.get(status, 0))
    try:
        metrics.INDEX_MENTIONS.set(ctx.index.count(MentionFilter()))
    except Exception:  # an index that is down must not take the other metrics with it
        metrics.INDEX_MENTIONS.set(float("nan"))
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """ASGI middleware: counts and times HTTP requests by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = _template(scope)
            method = str(scope.get("method", "GET"))
            metrics.HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            metrics.HTTP_LATENCY.labels(method=method, route=route).observe(
                time.perf_counter() - started
            )


def _template(scope: Scope) -> str:
    """The matched route's full template. FastAPI (0.16x) keeps included routers nested and
    puts the whole path ("/api/v1/mentions/{mention_id}") on its effective route context;
    `scope["route"].path` is then the router's own part only ("/mentions/{mention_id}")."""
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    for path in (getattr(effective, "path", None), getattr(scope.get("route"), "path", None)):
        if isinstance(path, str) and path:
            return path
    return "unmatched"
