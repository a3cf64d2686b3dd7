"""The analysis worker: inbox -> analyzer -> mention index.

Items leave the inbox only after their mentions are stored (or dropped by their
source's filter), so killing the worker at any point loses nothing; a restarted
worker re-analyzes the batch it held, and the index's upsert makes that harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from services.core import metrics
from services.core.models import Mention, Source
from services.runtime.app.context import ServiceContext
from services.runtime.app.triage import with_stored_triage
from services.runtime.governance.erasure import erasure_key, held_indices
from services.runtime.training.corrections import with_stored_corrections
from services.store.contracts import IndexUnavailable
from services.store.state.contract import InboxItem, StateStore

log = logging.getLogger("veille.worker")

Progress = Callable[[int], None]


@dataclass
class BatchOutcome:
    claimed: int = 0
    stored: int = 0
    dropped: int = 0
    failed: int = 0


class LeaseKeeper:
    """Renews a batch's inbox leases every third of their length while the batch works,
    so a batch slower than its lease (long texts, a busy machine) is never taken by a
    second worker; a worker that dies stops renewing and its items return as before."""

    def __init__(self, state: StateStore, mention_ids: list[str], lease_seconds: float) -> None:
        self._state = state
        self._ids = mention_ids
        self._lease_seconds = lease_seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="veille-lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self._lease_seconds / 3):
            try:
                renewed = self._state.renew_items(self._ids, lease_seconds=self._lease_seconds)
            except Exception:  # the next renewal may succeed: the lease still has 2/3 left
                log.exception("could not renew the leases of %d inbox items", len(self._ids))
                continue
            if renewed < len(self._ids):
                log.warning(
                    "%d of %d inbox items were no longer leased to this batch",
                    len(self._ids) - renewed,
                    len(self._ids),
                )


def process_batch(ctx: ServiceContext, *, limit: int | None = None) -> BatchOutcome:
    """Analyzes and stores one batch from the inbox; returns what happened to it."""
    size = limit or ctx.settings.analyzer.batch_size
    lease_seconds = ctx.settings.analyzer.lease_seconds
    claimed = ctx.state.claim_items(limit=size, lease_seconds=lease_seconds)
    if not claimed:
        return BatchOutcome()
    ids = [c.mention_id for c in claimed]
    with LeaseKeeper(ctx.state, ids, lease_seconds), metrics.ANALYSIS_LATENCY.time():
        outcome = _analyze_and_store(ctx, claimed, ids)
    metrics.MENTIONS_ANALYZED.labels(outcome="indexed").inc(outcome.stored)
    metrics.MENTIONS_ANALYZED.labels(outcome="dropped").inc(outcome.dropped)
    metrics.MENTIONS_ANALYZED.labels(outcome="failed").inc(outcome.failed)
    metrics.MENTIONS_INDEXED.inc(outcome.stored)
    return outcome


def _analyze_and_store(
    ctx: ServiceContext, claimed: list[InboxItem], ids: list[str]
) -> BatchOutcome:
    try:
        mentions = [c.item.to_mention() for c in claimed]
        # Posts by or about an erased author or identifier are dropped while it holds.
        holds = ctx.governance.holds()
        held = held_indices(holds, mentions, key=erasure_key(ctx) if holds else None)
        if held:
            log.info("%d collected items dropped: an erasure holds against them", len(held))
            # Their inbox rows go rather than stay `done`: no hash of them is kept, and a
            # re-collection once the erasure is lifted is analyzed like a new post.
            ctx.governance.drop_items([claimed[i].mention_id for i in sorted(held)])
            claimed = [c for i, c in enumerate(claimed) if i not in held]
            mentions = [m for i, m in enumerate(mentions) if i not in held]
        analyzed = (
            ctx.analyzer.analyze(mentions, declared_languages=[c.item.language for c in claimed])
            if mentions
            else []
        )
        sources = {s.name: s for s in ctx.state.list_sources()}
        kept = [m for m in analyzed if _keep(ctx, m, sources.get(m.source_name))]
        if kept:
            # A copy of a text an analyst corrected gets the analyst's label.
            ctx.index.upsert(
                with_stored_triage(ctx.state, with_stored_corrections(ctx.state, kept))
            )
    except Exception as exc:
        if isinstance(exc, IndexUnavailable):  # says what is down: no traceback per batch
            log.error("analysis of %d items failed (%s); they go back to the inbox", len(ids), exc)
        else:
            log.exception("analysis of %d items failed; they go back to the inbox", len(ids))
        ctx.state.release_items(ids, error=f"{type(exc).__name__}: {exc}")
        return BatchOutcome(claimed=len(ids), failed=len(ids))
    ctx.state.ack_items(ids)
    return BatchOutcome(claimed=len(ids), stored=len(kept), dropped=len(ids) - len(kept))


def _keep(ctx: ServiceContext, mention: Mention, source: Source | None) -> bool:
    # Imports and demo data have no configured source: the user chose to load them.
    return source is None or ctx.analyzer.is_relevant(mention, source)


def drain(ctx: ServiceContext, *, progress: Progress | None = None) -> BatchOutcome:
    """Processes the inbox until it is empty (`veille analyze`, `veille import`)."""
    total = BatchOutcome()
    while True:
        outcome = process_batch(ctx)
        if outcome.claimed == 0:
            return total
        total.claimed += outcome.claimed
        total.stored += outcome.stored
        total.dropped += outcome.dropped
        total.failed += outcome.failed
        if progress:
            progress(outcome.claimed)
        if outcome.failed:
            return total  # do not spin on a batch that keeps failing


class AnalysisWorker(threading.Thread):
    """Background thread that keeps the inbox drained while the service runs."""

    def __init__(self, ctx: ServiceContext, *, idle_seconds: float = 2.0) -> None:
        super().__init__(name="veille-analyzer", daemon=True)
        self.ctx = ctx
        self.idle_seconds = idle_seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        log.info("analysis worker started")
        while not self._stop_event.is_set():
            try:
                outcome = process_batch(self.ctx)
            except Exception:
                log.exception("analysis worker error; retrying shortly")
                outcome = BatchOutcome(failed=1)
            if outcome.stored or outcome.dropped:
                log.info(
                    "analyzed %d items: %d stored, %d not matching their source's filter",
                    outcome.claimed,
                    outcome.stored,
                    outcome.dropped,
                )
            if outcome.claimed == 0 or outcome.failed:
                self._stop_event.wait(self.idle_seconds)
        log.info("analysis worker stopped")

    def stop(self, timeout: float = 30.0) -> None:
        """Asks the worker to finish its batch and stop."""
        self._stop_event.set()
        self.join(timeout)
