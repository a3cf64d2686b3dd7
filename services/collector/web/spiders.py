"""The Scrapy spider that crawls a web source: forum threads page after page, or articles.

Politeness and safety come from settings (`crawl_settings`): robots.txt obeyed,
AutoThrottle, per-domain concurrency, a User-Agent with a contact URL, retries, a
maximum download size, cookies off unless the source configures some, http(s) only,
no proxy. Every request (redirects included) goes through `GuardMiddleware`, and every
connection through `pinning.PinnedResolver`: each host is resolved once, checked with
the same address rules as `fetching.fetch`, and connected to at that checked address.

Incremental: a thread's posts already collected (`seen` platform ids) are not yielded
again, and each thread starts where the last crawl stopped (`recrawl`: last page read;
old threads are not given to the spider at all). The spider yields `RawItem`s and
keeps per-thread state and crawl figures; parsing stays in the pure modules.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import TCPTimedOutError, TimeoutError
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from services.collector.fetching import FetchError, RefusedError
from services.collector.web import recrawl
from services.collector.web.detect import detect
from services.collector.web.extract import ExtractionError, article_items, extract_article
from services.collector.web.extract_pool import ExtractionPool, pool_for
from services.collector.web.forums import ENGINES, ForumSelectors, parse_thread, thread_items
from services.collector.web.forums.discourse import more_posts_url, parse_topic, topic_json_url
from services.collector.web.pinning import pins_from_settings
from services.core.models import RawItem, utcnow
from services.core.settings import CollectorSettings

log = logging.getLogger("veille.collector")

_ONLY_HTTP = {"data": None, "file": None, "s3": None, "ftp": None}


def crawl_settings(
    settings: CollectorSettings,
    *,
    contact_url: str | None = None,
    cookies: dict[str, str] | None = None,
    per_domain: int = 2,
    max_pages: int = 5,
) -> dict[str, Any]:
    """Scrapy settings for one web source, from the collector settings."""
    user_agent = settings.user_agent
    if contact_url and contact_url not in user_agent:
        user_agent = f"{user_agent} (+{contact_url})"
    return {
        "ROBOTSTXT_OBEY": True,
        "USER_AGENT": user_agent,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(per_domain),
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "DOWNLOAD_TIMEOUT": settings.timeout_seconds,
        "DOWNLOAD_MAXSIZE": settings.max_feed_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "COOKIES_ENABLED": bool(cookies),
        "REDIRECT_MAX_TIMES": settings.max_redirects,
        "DEPTH_LIMIT": max_pages,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "LOG_INSTALL_ROOT_HANDLER": False,  # the worker's logging stays the caller's
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "DOWNLOADER_MIDDLEWARES": {f"{__name__}.GuardMiddleware": 50},
        "DOWNLOAD_HANDLERS": _ONLY_HTTP,
        "HTTPPROXY_ENABLED": False,  # a proxy would connect elsewhere than the pinned address
        "TWISTED_DNS_RESOLVER": "services.collector.web.pinning.PinnedResolver",
        "VEILLE_ALLOWED_NETWORKS": list(settings.allowed_networks),
        "VEILLE_RESOLVE": {},
    }


class AddressRefused(IgnoreRequest):
    """A request to a non-http(s) URL, an address the guard refuses, or an unknown host."""

    def __init__(self, message: str, kind: str = "refused") -> None:
        super().__init__(message)
        self.kind = kind


class GuardMiddleware:
    """Refuses requests to non-http(s) URLs and to private addresses, redirects included.

    Resolves through the crawl's `AddressPins`, which the reactor's resolver answers
    from: the address checked here is the one connected to."""

    def __init__(self, pins: Any) -> None:
        self._pins = pins

    @classmethod
    def from_crawler(cls, crawler: Any) -> GuardMiddleware:
        """Shares the crawl's pins (VEILLE_ALLOWED_NETWORKS, VEILLE_RESOLVE)."""
        return cls(pins_from_settings(crawler.settings))

    async def process_request(self, request: scrapy.Request) -> None:
        """Raises AddressRefused when the URL's scheme or host is not allowed.

        Resolves in a thread: a slow name server must not stall the whole crawl."""
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AddressRefused(f"refused: {parts.scheme or '(none)'} URLs are not collected")
        try:
            await maybe_deferred_to_future(deferToThread(self._pins.address, parts.hostname))
        except FetchError as error:
            log.warning("%s: %s", request.url, error)
            kind = "refused" if isinstance(error, RefusedError) else "unreachable"
            raise AddressRefused(str(error), kind) from None


@dataclass(frozen=True)
class Target:
    """One thing to crawl: a thread (or article) known by its first URL, and where to start."""

    key: str
    start_url: str


@dataclass
class CrawlOutcome:
    """What a crawl produced: new items, the updated thread states and its figures."""

    items: list[RawItem] = field(default_factory=list)
    threads: recrawl.ThreadStates = field(default_factory=dict)
    pages_fetched: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    left_alone: int = 0  # threads not re-crawled: no post for longer than the max age
    discovery_remembered: dict[str, Any] = field(default_factory=dict)  # for the next run
    discovery_not_modified: int | None = None  # sitemaps and feeds unchanged since last run

    def stats(self) -> dict[str, Any]:
        """The figures recorded with the run (`CollectionRun.stats`)."""
        figures: dict[str, Any] = {
            "pages_fetched": self.pages_fetched,
            "errors": dict(self.errors),
            "threads_left_alone": self.left_alone,
        }
        if self.discovery_not_modified is not None:  # a site's feeds and sitemaps were read
            figures["discovery_not_modified"] = self.discovery_not_modified
        return figures


class WebSpider(scrapy.Spider):
    """Collects one web source: forum threads (all their new pages) or article pages."""

    name = "veille-web"

    def __init__(
        self,
        *,
        targets: Sequence[Target],
        source_name: str,
        outcome: CrawlOutcome,
        selectors: ForumSelectors | None = None,
        seen: frozenset[str] = frozenset(),
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        extraction: ExtractionPool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.targets = list(targets)
        self.source_name = source_name
        self.outcome = outcome
        self.selectors = selectors
        self.seen = seen
        self.cookies = cookies or {}
        self.headers = headers or {}
        self.extraction = extraction  # None: articles are extracted in this process

    async def start(self) -> Any:
        """Each target's start URL, with the source's cookies and headers."""
        jar: dict[str | bytes, str | bytes | bool | float | int] = dict(self.cookies.items())
        for index, target in enumerate(self.targets):
            yield scrapy.Request(
                target.start_url,
                cookies=jar,
                headers=self.headers,
                meta={"thread": target.key, "target": index},
                errback=self.on_error,
                dont_filter=True,
            )

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        """Reads a page by its detected kind; follows a thread's next page.

        Articles are extracted in the extraction pool when there is one: the reactor
        keeps fetching meanwhile."""
        self.outcome.pages_fetched += 1
        if not isinstance(response, TextResponse):
            self.outcome.errors["not_html"] += 1
            return
        key = response.meta.get("thread", response.url)
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        detection = detect(response.body, url=response.url, content_type=content_type)
        if detection.engine == "discourse" and detection.kind == "forum":
            yield self._follow(response, topic_json_url(response.url), self.parse_discourse)
            return
        selectors = self.selectors or ENGINES.get(detection.engine or "")
        if selectors is not None:
            thread = parse_thread(response.body, url=response.url, selectors=selectors)
            if thread.posts:
                self._note_page(key, response.url, [p.published_at for p in thread.posts])
                for item in self._new(thread_items(thread, source_name=self.source_name)):
                    yield item
                if thread.next_page_url:
                    yield self._follow(response, thread.next_page_url, self.parse)
                return
        try:
            if self.extraction is None:
                article = extract_article(response.body, url=response.url)
            else:
                pending = self.extraction.extract(response.body, response.url)
                article = await maybe_deferred_to_future(pending)
        except ExtractionError as error:
            self.outcome.errors["extraction"] += 1
            self.logger.warning("%s: %s", response.url, error)
            return
        dates = [article.published_at, *(c.published_at for c in article.comments)]
        self._note_page(key, response.url, dates)
        for item in self._new(article_items(article, source_name=self.source_name)):
            yield item

    def parse_discourse(self, response: Response) -> Iterator[Any]:
        """Reads a Discourse topic's JSON; asks for the stream's posts not yet read."""
        self.outcome.pages_fetched += 1
        payload = json.loads(response.body)
        topic_url = response.meta.get("topic_url", response.url.removesuffix(".json"))
        thread = parse_topic(payload, url=topic_url)
        key = response.meta.get("thread", topic_url)
        self._note_page(key, topic_url, [p.published_at for p in thread.posts])
        yield from self._new(thread_items(thread, source_name=self.source_name))
        read = set(response.meta.get("read", set()))
        read |= {p["id"] for p in payload.get("post_stream", {}).get("posts", []) if "id" in p}
        follow = more_posts_url(topic_url, payload, seen=read)
        if follow:
            meta = {"topic_url": topic_url, "read": read, "stream": payload["post_stream"]}
            yield self._follow(response, follow, self.parse_discourse_more, meta)

    def parse_discourse_more(self, response: Response) -> Iterator[Any]:
        """Reads one `posts.json` batch of a Discourse topic."""
        self.outcome.pages_fetched += 1
        payload = json.loads(response.body)
        topic_url = response.meta["topic_url"]
        thread = parse_topic(payload, url=topic_url)
        key = response.meta.get("thread", topic_url)
        self._note_page(key, topic_url, [p.published_at for p in thread.posts])
        yield from self._new(thread_items(thread, source_name=self.source_name))
        read = set(response.meta["read"])
        read |= {p["id"] for p in payload.get("post_stream", {}).get("posts", []) if "id" in p}
        stream = {"post_stream": response.meta["stream"]}
        follow = more_posts_url(topic_url, stream, seen=read)
        if follow and len(read) < 10_000:
            meta = {**response.meta, "read": read}
            yield self._follow(response, follow, self.parse_discourse_more, meta)

    def on_error(self, failure: Failure) -> None:
        """Counts a failed request by kind (http_404, timeout, refused, robots, network)."""
        self.outcome.errors[error_kind(failure)] += 1

    def _follow(
        self, response: Response, url: str, callback: Any, meta: dict[str, Any] | None = None
    ) -> scrapy.Request:
        merged = {
            "thread": response.meta.get("thread", response.url),
            "target": response.meta.get("target", 0),
            **(meta or {}),
        }
        return response.follow(url, callback=callback, meta=merged, errback=self.on_error)

    def _note_page(self, key: str, page_url: str, dates: Sequence[Any]) -> None:
        recrawl.record_page(
            self.outcome.threads, key, page_url=page_url, post_dates=dates, now=utcnow()
        )

    def _new(self, items: list[RawItem]) -> list[RawItem]:
        return [item for item in items if item.platform_id not in self.seen]


def error_kind(failure: Failure) -> str:
    """A short name for why a request failed, for the run's error counts."""
    error = failure.value
    if isinstance(error, AddressRefused):
        return error.kind
    if isinstance(error, HttpError):
        return f"http_{error.response.status}"
    if isinstance(error, IgnoreRequest):
        return "robots" if "robots.txt" in str(error).lower() else "ignored"
    timed_out = isinstance(error, TimeoutError | TCPTimedOutError)
    if timed_out or "timeout" in type(error).__name__.lower():
        return "timeout"
    if "maxsize" in str(error).lower() or "max size" in str(error).lower():
        return "too_large"
    return "network"


def collect(
    targets: Sequence[Target],
    *,
    settings: CollectorSettings,
    source_name: str,
    selectors: ForumSelectors | None = None,
    seen: frozenset[str] = frozenset(),
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    contact_url: str | None = None,
    max_pages: int = 5,
    overrides: dict[str, Any] | None = None,
    extract_workers: int | None = None,
) -> CrawlOutcome:
    """Crawls the targets of one web source to the end: their new items, thread states
    and crawl figures.

    Runs Twisted's reactor, which starts once per process: call it in a worker process
    (as the scheduler does for each run), not twice in the same one. Articles are
    extracted by `extract_workers` processes (default: `extract_pool.default_workers()`,
    0 or a small crawl: in this process). Items come in target order, then page order, whichever
    page finished extracting first."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    outcome = CrawlOutcome()
    order: list[tuple[int, int]] = []  # (target, page depth) of each item kept

    def keep(item: Any, response: Response) -> None:
        if isinstance(item, RawItem):
            outcome.items.append(item)
            order.append((response.meta.get("target", 0), response.meta.get("depth", 0)))

    if not targets:
        return outcome
    scrapy_settings = crawl_settings(
        settings, contact_url=contact_url, cookies=cookies, max_pages=max_pages
    )
    process = CrawlerProcess({**scrapy_settings, **(overrides or {})})
    crawler = process.create_crawler(WebSpider)
    crawler.signals.connect(keep, signal=signals.item_scraped)
    extraction = pool_for(extract_workers, targets=len(targets))
    process.crawl(
        crawler,
        targets=targets,
        source_name=source_name,
        outcome=outcome,
        selectors=selectors,
        seen=seen,
        cookies=cookies,
        headers=headers,
        extraction=extraction,
    )
    try:
        process.start()
    finally:
        if extraction is not None:
            extraction.close()
    # a stable sort: the items of one page keep their order
    ranked = sorted(range(len(order)), key=order.__getitem__)
    outcome.items = [outcome.items[index] for index in ranked]
    return outcome
