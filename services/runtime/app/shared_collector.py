"""Builds the scheduler of a `veille collect` process that shares the sources."""

from __future__ import annotations

from datetime import datetime

from services.collector.partition import SourcePartition
from services.collector.scheduler import CollectorScheduler
from services.runtime.app.context import ServiceContext
from services.store.state.contract import NotFoundError


def shared_scheduler(ctx: ServiceContext, *, lease_seconds: float) -> CollectorScheduler:
    """A scheduler that collects only the sources this process holds a lease on."""

    def last_run(name: str) -> datetime | None:
        try:
            return ctx.state.source_status(name).last_run_at
        except NotFoundError:
            return None

    return CollectorScheduler(
        ctx.state,
        ctx.settings.collector,
        sources_provider=ctx.state.list_sources,
        partition=SourcePartition(ctx.leases, ttl=lease_seconds),
        last_run=last_run,
    )
