"""What a worker's health check asks: do the stores answer with this process's settings?

Used by `veille health` in container health checks and Kubernetes probes of the
processes that have no HTTP port (collector, analyzer, alert evaluator).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.collector.partition import MEMBER_PREFIX, SOURCE_PREFIX
from services.core.models import ErrorKind, SourceStatus, utcnow
from services.runtime.app.context import ServiceContext
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
        # A server that does not answer at once is reported down at once: asking the index
        # would wait out its retries (about 5 s) whenever it is opened or asked again.
        ctx.probe_index()
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
        # Collectors: `veille collect` processes (alive by their lease) and this process's
        # own (`veille up`); scheduled sources: what they collect between them.
        local = ctx.local_collector
        details["collectors"] = live_count(ctx.leases, prefix=MEMBER_PREFIX) + (local is not None)
        details["scheduled_sources"] = live_count(ctx.leases, prefix=SOURCE_PREFIX) + (
            len(local()) if local is not None else 0
        )
        states: dict[str, int] = {}
        statuses = ctx.state.list_source_statuses()
        for source in statuses:
            states[source.state] = states.get(source.state, 0) + 1
        details["sources"] = states
        warnings = collection_warnings(ctx, statuses)
        if warnings:
            details["warnings"] = warnings
    except Exception as exc:
        healthy = False
        details["state_store"] = failure(exc)
    return healthy, details


def collection_warnings(ctx: ServiceContext, statuses: list[SourceStatus]) -> list[str]:
    """What is wrong with collection though the stores answer: sources whose last fetch
    hit its deadline, and sources overdue (not run for two intervals plus a time-out,
    whatever the cause: slow sources holding every collector thread, a stalled or
    stopped collector). Names are left out: the endpoint needs no key."""
    intervals = {s.name: s.interval_minutes for s in ctx.state.list_sources() if s.enabled}
    grace = timedelta(seconds=ctx.settings.collector.timeout_seconds)
    now = utcnow()
    timed_out = sum(1 for s in statuses if s.last_error_kind == ErrorKind.TIMEOUT)
    overdue = sum(
        1
        for s in statuses
        if s.name in intervals
        and s.last_run_at is not None
        and now - s.last_run_at > 2 * timedelta(minutes=intervals[s.name]) + grace
    )
    warnings = []
    if timed_out:
        warnings.append(
            f"{timed_out} source(s) timed out on their last run (slower than "
            f"collector.timeout_seconds = {ctx.settings.collector.timeout_seconds:g} s)"
        )
    if overdue:
        warnings.append(
            f"{overdue} source(s) overdue: not collected for over two intervals "
            "(is the collector running, or held up by slow sources?)"
        )
    return warnings
