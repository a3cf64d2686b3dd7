"""Article extraction in a small process pool, for the Scrapy spider.

trafilatura is pure CPU work: run in the spider's callbacks it holds the Twisted
reactor on one core, so fetching stalls while a page is extracted (15 pages/s on
2 cores). Handing pages to worker processes lets the reactor keep fetching while
every core extracts. Results come back to the reactor as Deferreds through
`callFromThread`: no reactor thread waits on a worker, so the DNS guard's threads
stay free.

A worker that dies (a crash in lxml, the OOM killer) breaks the whole pool: the next
page gets a fresh pool, and the pages it held are tried again one at a time, so the
page that kills its worker is counted as an extraction error and the crawl goes on.
An exception from the extractor other than ExtractionError fails that page only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import NoReturn

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure

from services.collector.web.extract import Article, ExtractionError
from services.collector.web.extract_worker import extract_page, warm_up

log = logging.getLogger("veille.collector")

Extractor = Callable[[bytes, str], Article]

# Below this many targets a crawl extracts in its own process: starting workers (about
# 0.6 s of imports each) costs more than it saves on a few pages.
MIN_TARGETS_FOR_POOL = 4


def default_workers() -> int:
    """Two workers at most: the reactor and the rest of the machine need a core too."""
    return min(2, os.cpu_count() or 1)


def _reraise(failure: Failure) -> NoReturn:
    raise failure.value if failure.value is not None else ExtractionError("extraction failed")


class _WorkerDied(Exception):
    """The process extracting a page died (the whole pool broke with it)."""


class ExtractionPool:
    """Extracts articles in `workers` spawned processes.

    A page whose worker died is tried once more alone, in a one-process pool taking
    pages one at a time: the pages that were only in the same pool get extracted, the
    page that kills its worker becomes an ExtractionError."""

    def __init__(self, workers: int, *, extractor: Extractor = extract_page) -> None:
        if workers < 1:
            raise ValueError(f"an extraction pool needs at least 1 worker, not {workers}")
        self.workers = workers
        self._extractor = extractor
        self._sizes = {"shared": workers, "alone": 1}
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._alone: Deferred[None] = succeed(None)  # the retries, one after the other

    def extract(self, html: bytes, url: str) -> Deferred[Article]:
        """Fires with the article, or fails with ExtractionError (no article, a crash)."""
        result = self._submit("shared", html, url)

        def retry_alone(failure: Failure) -> Deferred[Article]:
            if not isinstance(failure.value, _WorkerDied):
                _reraise(failure)
            log.warning("%s: an extraction worker died; trying the page alone", url)
            return self._retry_alone(html, url)

        return result.addErrback(retry_alone)

    def start(self) -> None:
        """Starts the workers and loads the extractor in each while the crawl starts up."""
        pool = self._pool("shared")
        for _ in range(self.workers):
            pool.submit(warm_up)

    def close(self) -> None:
        """Stops the workers; pages still queued are dropped (the crawl is over)."""
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools.clear()

    def _retry_alone(self, html: bytes, url: str) -> Deferred[Article]:
        result: Deferred[Article] = Deferred()

        def attempt(_: object) -> Deferred[None]:
            done = self._submit("alone", html, url)
            done.addCallbacks(result.callback, result.errback)
            return done.addBoth(lambda _: None)  # the next retry waits for this one

        self._alone.addCallback(attempt)

        def crashed(failure: Failure) -> Article:
            if isinstance(failure.value, _WorkerDied):
                raise ExtractionError("the extraction worker crashed on this page")
            _reraise(failure)

        return result.addErrback(crashed)

    def _submit(self, kind: str, html: bytes, url: str) -> Deferred[Article]:
        from twisted.internet import reactor

        pool = self._pool(kind)
        try:
            future = pool.submit(self._extractor, html, url)
        except BrokenProcessPool:  # broke since the last page: start afresh
            self._discard(kind, pool)
            pool = self._pool(kind)
            future = pool.submit(self._extractor, html, url)
        result: Deferred[Article] = Deferred()

        def settle(done: Future[Article]) -> None:
            error = done.exception()
            if isinstance(error, BrokenProcessPool):
                self._discard(kind, pool)
                result.errback(_WorkerDied(str(error)))
            elif isinstance(error, ExtractionError):
                result.errback(error)
            elif error is not None:  # a bug in the extractor: this page only
                log.warning("%s: extraction failed: %r", url, error)
                result.errback(ExtractionError(f"extraction failed: {type(error).__name__}"))
            else:
                result.callback(done.result())

        # The future completes in the pool's management thread; Deferreds belong to the reactor.
        future.add_done_callback(lambda done: reactor.callFromThread(settle, done))
        return result

    def _pool(self, kind: str) -> ProcessPoolExecutor:
        if kind not in self._pools:
            self._pools[kind] = ProcessPoolExecutor(
                max_workers=self._sizes[kind], mp_context=get_context("spawn")
            )
        return self._pools[kind]

    def _discard(self, kind: str, broken: ProcessPoolExecutor) -> None:
        if self._pools.get(kind) is broken:
            del self._pools[kind]
            broken.shutdown(wait=False, cancel_futures=True)


def pool_for(workers: int | None, *, targets: int) -> ExtractionPool | None:
    """The pool a crawl of `targets` uses, started: `workers` None means
    `default_workers()`; 0, or fewer targets than MIN_TARGETS_FOR_POOL, means no pool
    (pages are extracted in the spider's own process)."""
    count = default_workers() if workers is None else workers
    if count < 1 or targets < MIN_TARGETS_FOR_POOL:
        return None
    pool = ExtractionPool(count)
    pool.start()
    return pool
