"""What a worker's health check asks: do the stores answer with this process's settings?

Used by `veille health` in container health checks and Kubernetes probes of the
processes that have no HTTP port (collector, analyzer, alert evaluator).
"""

from __future__ import annotations

from typing import Any

from services.runtime.context import ServiceContext
from services.store.contracts import MentionFilter
from services.store.state.leases import live_count


def store_health(ctx: ServiceContext) -> tuple[bool, dict[str, Any]]:
    """(healthy, details): the mention count, the inbox and the live collectors."""
    details: dict[str, Any] = {}
    healthy = True
    try:
        details["mentions"] = ctx.index.count(MentionFilter())
    except Exception as exc:
        healthy = False
        details["index"] = f"error: {type(exc).__name__}: {exc}"
    try:
        details["inbox"] = ctx.state.inbox_counts()
        details["collectors"] = live_count(ctx.leases, prefix="member:collector:")
    except Exception as exc:
        healthy = False
        details["state_store"] = f"error: {type(exc).__name__}: {exc}"
    return healthy, details
