"""Incremental re-crawl rules for forum threads and articles (pure: no I/O).

Each thread (or article) a source has crawled keeps a small state in the source's
cursor, under "threads", keyed by the thread's first URL:

    {"last_page_url": ".../page/7", "last_post_at": "2026-11-20T08:00:00+00:00",
     "checked_at": "2026-11-22T05:00:00+00:00"}

A re-crawl starts at the last page read (only the posts after it are new, and known
post ids are skipped anyway), so an active thread costs a page or two, not all of them.
A thread whose newest post is older than `max_age` is left alone: nobody writes there
any more. A thread whose dates are unknown is revisited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from services.collector.web.dates import parse_date

DEFAULT_MAX_AGE_DAYS = 30
MAX_THREADS = 5000  # states kept per source; those checked longest ago are forgotten first

ThreadStates = dict[str, dict[str, Any]]


def max_age_of(options: Mapping[str, Any]) -> timedelta:
    """The source's `recrawl_max_age_days` option (default 30) as a duration.

    Raises ValueError for a value that is not a positive number."""
    raw = options.get("recrawl_max_age_days", DEFAULT_MAX_AGE_DAYS)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        raise ValueError(f"recrawl_max_age_days must be a positive number of days, not {raw!r}")
    return timedelta(days=float(raw))


def start_url(
    threads: Mapping[str, Mapping[str, Any]], url: str, *, now: datetime, max_age: timedelta
) -> str | None:
    """Where to (re)start crawling the thread first seen at `url`; None: leave it alone."""
    state = threads.get(url)
    if not state:
        return url
    last_post = parse_date(state.get("last_post_at"))
    if last_post is not None and now - last_post > max_age:
        return None
    return str(state.get("last_page_url") or url)


def record_page(
    threads: ThreadStates,
    thread_url: str,
    *,
    page_url: str,
    post_dates: Iterable[datetime | None],
    now: datetime,
) -> None:
    """Notes that `page_url` of a thread was read, with the dates of its posts."""
    state = dict(threads.get(thread_url) or {})
    newest = max((d for d in post_dates if d is not None), default=None)
    known = parse_date(state.get("last_post_at"))
    if newest is not None and (known is None or newest > known):
        state["last_post_at"] = newest.isoformat()
    state["last_page_url"] = page_url
    state["checked_at"] = now.isoformat()
    threads[thread_url] = state


def trimmed(threads: Mapping[str, Mapping[str, Any]]) -> ThreadStates:
    """At most MAX_THREADS states, keeping those checked most recently."""
    ordered = sorted(threads.items(), key=lambda kv: str(kv[1].get("checked_at", "")))
    return {url: dict(state) for url, state in ordered[-MAX_THREADS:]}
