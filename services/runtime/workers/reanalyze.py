"""Re-analysis of stored mentions after a model, head or brand change.

A job walks the mentions matching its query and time window oldest first, in small
batches: analyze, put the analyst corrections back on top, upsert, then record the
index cursor of the batch in the state store. A job stopped anywhere (Ctrl-C, a
restart) resumes from its last recorded batch; redoing that batch is harmless because
upserts are idempotent. Walking by cursor also visits each mention once even though
the mentions change under it: the sort key of a mention depends on its id and date only.

Low priority by design: batches are small and, between them, a job waits (up to 30 s
per batch) while collected items wait in the inbox, so new mentions are analyzed first. `veille
reanalyze` runs a job in its own process (niced); `POST /api/v1/reanalyze` runs one as
a background thread of the service. Either way, index writers take turns and the API
keeps answering.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.core.query import parse_query
from services.runtime.app.context import ServiceContext
from services.runtime.app.triage import with_stored_triage
from services.runtime.training.corrections import with_stored_corrections
from services.store.contracts import MentionFilter, SearchRequest, SortOrder

log = logging.getLogger("veille.reanalyze")

Progress = Callable[[int, int | None], None]
DEFAULT_BATCH = 32
INBOX_WAIT_SECONDS = 1.0
MAX_INBOX_WAIT_SECONDS = 30.0  # then one batch anyway, so a job always moves on


def job_spec(*, since: datetime, until: datetime | None, query: str) -> dict[str, Any]:
    """A job's definition; ValueError with a readable reason when it is wrong."""
    if until is not None and until <= since:
        raise ValueError(
            f"--until ({until.isoformat()}) must be after --since ({since.isoformat()})"
        )
    parse_query(query)  # raises QuerySyntaxError (a ValueError) naming the position
    return {
        "since": since.isoformat(),
        "until": until.isoformat() if until is not None else None,
        "query": query,
    }


def _filter(spec: dict[str, Any]) -> MentionFilter:
    until = spec.get("until")
    return MentionFilter(
        query=parse_query(spec.get("query") or ""),
        since=datetime.fromisoformat(spec["since"]),
        until=datetime.fromisoformat(until) if until else None,
    )


def run_job(
    ctx: ServiceContext,
    job_id: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    yield_to_inbox: bool = True,
) -> dict[str, Any]:
    """Runs (or resumes) a job until it is done or `stop` is set; returns the job."""
    job = ctx.state.get_reanalysis_job(job_id)
    if job["status"] == "done":
        return job
    flt = _filter(job["spec"])
    cursor: str | None = job["cursor"]
    done = job["done"]
    total = done + ctx.index.count(flt) if cursor is None else job["total"]
    ctx.state.update_reanalysis_job(job_id, status="running", total=total, error=None)
    log.info("re-analysis %s: %s, %d of %s done", job_id, job["spec"], done, total)
    finished = False
    waited = 0.0
    try:
        while stop is None or not stop.is_set():
            if yield_to_inbox and waited < MAX_INBOX_WAIT_SECONDS and _inbox_busy(ctx):
                # Collected items first; re-analysis only uses the analyzer's idle time. The
                # wait is capped: with no worker running, nobody would ever empty the inbox.
                (stop or threading.Event()).wait(INBOX_WAIT_SECONDS)
                waited += INBOX_WAIT_SECONDS
                continue
            waited = 0.0
            page = ctx.index.search(
                SearchRequest(filter=flt, sort=SortOrder.OLDEST, limit=batch_size, cursor=cursor)
            )
            if page.mentions:
                analyzed = ctx.analyzer.analyze(
                    page.mentions, declared_languages=[m.language for m in page.mentions]
                )
                # Topics follow the current taxonomy (analyst topics come back with the
                # corrections below); a story does not change with the model, so it is kept.
                kept = [
                    new.model_copy(update={"story_id": old.story_id}) if old.story_id else new
                    for old, new in zip(page.mentions, analyzed, strict=True)
                ]
                ctx.index.upsert(
                    with_stored_triage(ctx.state, with_stored_corrections(ctx.state, kept))
                )
                done += len(page.mentions)
            finished = page.next_cursor is None
            cursor = page.next_cursor or cursor
            ctx.state.update_reanalysis_job(
                job_id,
                cursor=cursor,
                done=done,
                total=max(total or 0, done),
                status="done" if finished else "running",
            )
            if progress is not None:
                progress(done, total)
            if finished:
                log.info("re-analysis %s done: %d mentions", job_id, done)
                break
        if not finished:  # stopped: it waits to be resumed
            ctx.state.update_reanalysis_job(job_id, status="pending")
    except Exception as exc:
        log.exception("re-analysis %s failed; it can be resumed", job_id)
        ctx.state.update_reanalysis_job(
            job_id, status="failed", error=f"{type(exc).__name__}: {exc}"
        )
        raise
    return ctx.state.get_reanalysis_job(job_id)


def _inbox_busy(ctx: ServiceContext) -> bool:
    return ctx.state.inbox_counts().get("pending", 0) > 0


class BackgroundReanalysis(threading.Thread):
    """Runs one job in a daemon thread of the service (`POST /api/v1/reanalyze`)."""

    def __init__(self, ctx: ServiceContext, job_id: str, *, batch_size: int = DEFAULT_BATCH):
        super().__init__(name=f"veille-reanalyze-{job_id}", daemon=True)
        self.ctx = ctx
        self.job_id = job_id
        self.batch_size = batch_size
        self.stop_event = threading.Event()

    def run(self) -> None:
        try:
            run_job(self.ctx, self.job_id, batch_size=self.batch_size, stop=self.stop_event)
        except Exception:  # recorded on the job by run_job; a thread has nobody to raise to
            return
