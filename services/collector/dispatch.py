"""One entry point for collecting any source: feeds, and social connectors by kind.

The scheduler calls `SourceCollector` for every source; it picks the feed collector
or the connector registered for the source's kind, keeps one connector per source
(so an OAuth token is reused) and honours a platform's request to wait.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from services.collector.runner import CollectorState, collect_source
from services.collector.social.base import Connector, SocialSource
from services.collector.social.registry import UnknownKind, create, kinds
from services.collector.social.runner import collect_social
from services.collector.web_runner import collect_web
from services.core import metrics
from services.core.models import ErrorKind, RunStatus, Source, utcnow
from services.core.settings import CollectorSettings
from services.store.state.contract import CollectionRun

log = logging.getLogger("veille.collector")


class SourceCollector:
    """Collects a source of any kind once; never raises (errors become error runs)."""

    def __init__(self) -> None:
        self._connectors: dict[tuple[str, str], Connector] = {}
        self._not_before: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def __call__(
        self, source: Source, *, state: CollectorState, settings: CollectorSettings
    ) -> CollectionRun:
        run = self._collect(source, state=state, settings=settings)
        _count(source, run)
        return run

    def _collect(
        self, source: Source, *, state: CollectorState, settings: CollectorSettings
    ) -> CollectionRun:
        if source.kind == "feed":
            return collect_source(source, state=state, settings=settings)
        if source.kind == "web":
            return collect_web(source, state=state, settings=settings)
        now = utcnow()
        wait_until = self._not_before.get(source.name)
        if wait_until is not None and now < wait_until:
            log.info("skipping %s: the platform asked to wait until %s", source.name, wait_until)
            return _unrecorded(
                source,
                now,
                f"rate limited: next call after {wait_until:%H:%M:%S}",
                ErrorKind.RATE_LIMITED,
            )
        try:
            connector = self._connector(source)
        except UnknownKind:
            message = (
                f"not configured: unknown source kind '{source.kind}' "
                f"(installed: feed, web, {', '.join(kinds())})"
            )
            run = _unrecorded(source, now, message, ErrorKind.NOT_CONFIGURED)
            state.record_run(run)
            return run
        social = SocialSource(
            name=source.name,
            kind=source.kind,
            query=source.query or "",
            options=source.options,
            max_pages=source.max_pages,
        )
        result = collect_social(social, connector=connector, state=state, settings=settings)
        if result.not_before is not None:
            self._not_before[source.name] = result.not_before
        else:
            self._not_before.pop(source.name, None)
        return result.run

    def _connector(self, source: Source) -> Connector:
        key = (source.name, source.kind)
        with self._lock:
            if key not in self._connectors:
                self._connectors[key] = create(source.kind)
            return self._connectors[key]


def _unrecorded(source: Source, now: datetime, message: str, kind: ErrorKind) -> CollectionRun:
    return CollectionRun(
        source_name=source.name,
        started_at=now,
        finished_at=now,
        status=RunStatus.ERROR,
        items_found=0,
        items_new=0,
        error=message,
        error_kind=kind.value,
    )


def _count(source: Source, run: CollectionRun) -> None:
    """The run in the operator metrics (/metrics)."""
    metrics.COLLECTION_RUNS.labels(
        source=source.name, kind=source.kind, status=str(run.status)
    ).inc()
    if run.items_new:
        metrics.MENTIONS_COLLECTED.labels(source=source.name, kind=source.kind).inc(run.items_new)
    if run.status is RunStatus.ERROR:
        metrics.COLLECTION_ERRORS.labels(
            kind=source.kind, error_kind=run.error_kind or "error"
        ).inc()
