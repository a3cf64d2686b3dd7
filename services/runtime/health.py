"""What a worker's health check asks: do the stores answer with this process's settings?

Used by `veille health` in container health checks and Kubernetes probes of the
processes that have no HTTP port (collector, analyzer, alert evaluator).
"""

from __future__ import annotations

from typing import Any

from services.runtime.context import ServiceContext
from services.store.contracts import MentionFilter
from services.store.state.leases import live_count


def store_health(ctx: ServiceContext, *, explain: bool = True) -> tuple[bool, dict[str, Any]]:
    """(healthy, details): the mention count, the inbox, the live collectors and the
    sources by state. `explain=False` names a failure's type only (the HTTP endpoint needs
    no key, so it must not echo messages that may hold hosts or paths)."""

    def failure(exc: Exception) -> str:
        return f"error: {type(exc).__name__}: {exc}" if explain else f"error: {type(exc).__name__}"

    details: dict[str, Any] = {}
    healthy = True
    try:
        details["mentions"] = ctx.index.count(MentionFilter())
        outdated = ctx.index.outdated_parts()
        if outdated:
            # Not a failure: searches answer, but miss those documents on newer fields.
            details["outdated_indices"] = outdated
            details["hint"] = "run `veille reindex` to add the new search fields to them"
    except Exception as exc:
        healthy = False
        details["index"] = failure(exc)
    try:
        details["inbox"] = ctx.state.inbox_counts()
        details["collectors"] = live_count(ctx.leases, prefix="member:collector:")
        states: dict[str, int] = {}
        for source in ctx.state.list_source_statuses():
            states[source.state] = states.get(source.state, 0) + 1
        details["sources"] = states
    except Exception as exc:
        healthy = False
        details["state_store"] = failure(exc)
    return healthy, details
