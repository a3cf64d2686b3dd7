"""Collects a `web` source (a blog, news site or forum thread) with the Scrapy spider.

Twisted's reactor starts once per process, so every run crawls in a fresh worker
process; the parent records the items, the crawl figures and the cursor: the platform
ids already collected ("seen") and each thread's re-crawl state ("threads", see
`web.recrawl`), so a re-crawl of an active thread reads only its last pages.

A source whose URL is a site root (or with option `discover: true`) is crawled through
its feeds and sitemaps (`web.discover`): the newest `max_pages` articles not left alone.

The parent waits for the crawl in half-second slices: when its collector stops (the
cancel token of `deadline.cancel_scope`) or the crawl outlasts `CRAWL_TIMEOUT_SECONDS`,
the worker process is terminated at once rather than waited for.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from services.collector.fetching import FetchError
from services.collector.item_policy import screen_items
from services.collector.runner import CollectorState
from services.collector.web import recrawl
from services.core.models import ErrorKind, RunStatus, Source, utcnow
from services.core.settings import CollectorSettings
from services.net.deadline import FetchCancelled, current_token
from services.store.state.contract import CollectionRun

if TYPE_CHECKING:  # Scrapy loads in the worker process only
    from services.collector.web.discover import Discovery
    from services.collector.web.spiders import CrawlOutcome, Target

log = logging.getLogger("veille.collector")

MAX_SEEN = 20_000  # ids remembered per source; the oldest are forgotten first
CRAWL_TIMEOUT_SECONDS = 600


def _crawl(
    source: Source,
    settings: CollectorSettings,
    seen: list[str],
    threads: dict[str, Any],
    remembered: dict[str, Any],
) -> CrawlOutcome:
    from services.collector.web.forums import load_selectors
    from services.collector.web.spiders import collect

    selectors = source.options.get("selectors")
    targets, left_alone, discovery = plan_targets(source, settings, threads, remembered)
    outcome = collect(
        targets,
        settings=settings,
        source_name=source.name,
        selectors=load_selectors(selectors) if selectors else None,
        seen=frozenset(seen),
        max_pages=source.max_pages,
        extract_workers=settings.extract_workers,
    )
    outcome.left_alone = left_alone
    if discovery is not None:
        outcome.discovery_remembered = discovery.remembered
        outcome.discovery_not_modified = discovery.not_modified
    return outcome


def plan_targets(
    source: Source,
    settings: CollectorSettings,
    threads: dict[str, Any],
    remembered: dict[str, Any] | None = None,
) -> tuple[list[Target], int, Discovery | None]:
    """What this run crawls, how many threads it leaves alone (too old), and what
    discovery found (None for a thread or article URL).

    A thread (or article) resumes at its last page read; discovery mode takes the site's
    newest articles, leaving alone those whose feed or sitemap date is already too old;
    `remembered` is the last discovery's (conditional requests).
    Raises ValueError for a bad option, FetchError when the home page cannot be read."""
    from services.collector.web import discover
    from services.collector.web.spiders import Target

    now = utcnow()
    max_age = recrawl.max_age_of(source.options)
    url = str(source.url)
    candidates: list[tuple[str, datetime | None]] = [(url, None)]
    explore = source.options.get("discover", discover.is_site_root(url))
    if not isinstance(explore, bool):
        raise ValueError(f"discover must be true or false, not {explore!r}")
    found = None
    if explore:
        found = discover.discover(url, settings, remembered=remembered)
        candidates = [(article.url, article.published_at) for article in found.articles]
    targets: list[Target] = []
    left_alone = 0
    for candidate, published in candidates:
        start = recrawl.start_url(threads, candidate, now=now, max_age=max_age)
        if published is not None and now - published > max_age:
            start = None  # an article already old when first found: not worth a visit
        if start is None:
            left_alone += 1
        elif len(targets) < source.max_pages or candidate == url:
            targets.append(Target(candidate, start))
    return targets, left_alone, found


def collect_web(
    source: Source, *, state: CollectorState, settings: CollectorSettings
) -> CollectionRun:
    """Crawls a web source once and records the outcome; never raises."""
    started = utcnow()
    cursor: dict[str, Any] = {}
    try:
        cursor = state.get_cursor(source.name)
        seen = [str(s) for s in cursor.get("seen", [])]
        threads = dict(cursor.get("threads") or {})
        remembered = cursor.get("discovery")
        remembered = remembered if isinstance(remembered, dict) else {}
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            crawl = pool.submit(_crawl, source, settings, seen, threads, remembered)
            outcome = _wait_for(crawl, pool, CRAWL_TIMEOUT_SECONDS)
    except FetchCancelled:
        log.info("crawling %s stopped: the collector is stopping", source.name)
        return CollectionRun(
            source_name=source.name,
            started_at=started,
            finished_at=utcnow(),
            status=RunStatus.ERROR,
            items_found=0,
            items_new=0,
            error="cancelled: the collector is stopping",
            error_kind=ErrorKind.CANCELLED.value,
        )  # not recorded: it says nothing about the source
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        log.warning("crawling %s failed: %s", source.name, message)
        run = CollectionRun(
            source_name=source.name,
            started_at=started,
            finished_at=utcnow(),
            status=RunStatus.ERROR,
            items_found=0,
            items_new=0,
            error=message[:500],
            error_kind=(
                exc.kind
                if isinstance(exc, FetchError)
                else ErrorKind.TIMEOUT.value
                if isinstance(exc, TimeoutError)
                else ErrorKind.INTERNAL.value
            ),
        )
        state.record_run(run)
        return run
    screened = screen_items(outcome.items, now=started, settings=settings)
    items = screened.items
    new_ids = [i.platform_id or i.url or "" for i in items]
    remembered_ids = list(dict.fromkeys([*seen, *filter(None, new_ids)]))[-MAX_SEEN:]
    failure, failure_kind = _failure(outcome)
    run = CollectionRun(
        source_name=source.name,
        started_at=started,
        finished_at=utcnow(),
        status=RunStatus.ERROR if failure else RunStatus.OK,
        items_found=len(items),
        items_new=0,
        error=failure,
        error_kind=failure_kind,
        stats={**outcome.stats(), **({"notes": screened.notes} if screened.notes else {})},
    )
    new_cursor = {
        "seen": remembered_ids,
        "threads": recrawl.trimmed({**threads, **outcome.threads}),
        "discovery": outcome.discovery_remembered,
    }
    stored = state.record_collection(run=run, items=items, cursor=new_cursor)
    log.info("crawled %s: %d items, %d new", source.name, len(items), stored)
    return replace(run, items_new=stored)


def _wait_for(crawl: Future[CrawlOutcome], pool: ProcessPoolExecutor, limit: float) -> CrawlOutcome:
    """The crawl's outcome; FetchCancelled when the collector stops, TimeoutError after
    `limit` seconds, the worker process terminated in both cases."""
    token = current_token()
    end = time.monotonic() + limit
    while True:
        try:
            return crawl.result(timeout=max(0.0, min(0.5, end - time.monotonic())))
        except FutureTimeout:
            if token is not None and token.is_set():
                _terminate(pool)
                raise FetchCancelled("the collector is stopping") from None
            if time.monotonic() >= end:
                _terminate(pool)
                raise TimeoutError(f"timed out: the crawl took longer than {limit:g} s") from None


def _terminate(pool: ProcessPoolExecutor) -> None:
    # No public way to stop a running task (terminate_workers comes in Python 3.14).
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _failure(outcome: CrawlOutcome) -> tuple[str | None, str | None]:
    """An error message and kind when the crawl read no page at all because of errors."""
    if outcome.pages_fetched or not outcome.errors:
        return None, None
    counts = ", ".join(f"{kind} x{count}" for kind, count in sorted(outcome.errors.items()))
    if set(outcome.errors) <= {"unreachable", "timeout", "network"}:
        return f"unreachable: no page fetched ({counts})", ErrorKind.UNREACHABLE.value
    return f"no page fetched ({counts})", ErrorKind.ERROR.value
