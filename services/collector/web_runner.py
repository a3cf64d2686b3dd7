"""Collects a `web` source (a blog, news site or forum thread) with the Scrapy spider.

Twisted's reactor starts once per process, so every run crawls in a fresh worker
process; the parent records the items and the cursor (the platform ids already
collected, so a re-crawl of an active thread stores only its new posts).
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from typing import Any

from services.collector.runner import CollectorState
from services.core.models import RawItem, RunStatus, Source, utcnow
from services.core.settings import CollectorSettings
from services.store.state.contract import CollectionRun

log = logging.getLogger("veille.collector")

MAX_SEEN = 20_000  # ids remembered per source; the oldest are forgotten first
CRAWL_TIMEOUT_SECONDS = 600


def _crawl(source: Source, settings: CollectorSettings, seen: list[str]) -> list[RawItem]:
    from services.collector.web.forums import load_selectors
    from services.collector.web.spiders import collect

    selectors = source.options.get("selectors")
    return collect(
        str(source.url),
        settings=settings,
        source_name=source.name,
        selectors=load_selectors(selectors) if selectors else None,
        seen=frozenset(seen),
        max_pages=source.max_pages,
    )


def collect_web(
    source: Source, *, state: CollectorState, settings: CollectorSettings
) -> CollectionRun:
    """Crawls a web source once and records the outcome; never raises."""
    started = utcnow()
    cursor: dict[str, Any] = {}
    try:
        cursor = state.get_cursor(source.name)
        seen = [str(s) for s in cursor.get("seen", [])]
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            items = pool.submit(_crawl, source, settings, seen).result(CRAWL_TIMEOUT_SECONDS)
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
        )
        state.record_run(run)
        return run
    new_ids = [i.platform_id or i.url or "" for i in items]
    remembered = list(dict.fromkeys([*seen, *filter(None, new_ids)]))[-MAX_SEEN:]
    run = CollectionRun(
        source_name=source.name,
        started_at=started,
        finished_at=utcnow(),
        status=RunStatus.OK,
        items_found=len(items),
        items_new=0,
    )
    stored = state.record_collection(run=run, items=items, cursor={"seen": remembered})
    log.info("crawled %s: %d items, %d new", source.name, len(items), stored)
    return replace(run, items_new=stored)
