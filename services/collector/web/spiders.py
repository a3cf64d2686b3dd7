"""The Scrapy spider that crawls a web source: forum threads page after page, or articles.

Politeness and safety come from settings (`crawl_settings`): robots.txt obeyed,
AutoThrottle, per-domain concurrency, a User-Agent with a contact URL, retries, a
maximum download size, cookies off unless the source configures some. Every request
(redirects included) goes through `GuardMiddleware`, which applies the same address
rules as `fetching.fetch` (private and loopback addresses refused unless allowed).

Incremental: a thread's posts already collected (`seen` platform ids, from the state
store) are not yielded again; pages are followed up to `max_pages` (DEPTH_LIMIT), so a
re-crawl of an active thread should start from the last page it read. The spider
yields `RawItem`s; parsing stays in the pure modules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from services.collector.fetching import AddressGuard, FetchError
from services.collector.web.detect import detect
from services.collector.web.extract import ExtractionError, article_items, extract_article
from services.collector.web.forums import ENGINES, ForumSelectors, parse_thread, thread_items
from services.collector.web.forums.discourse import more_posts_url, parse_topic, topic_json_url
from services.core.models import RawItem
from services.core.settings import CollectorSettings


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
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "DOWNLOADER_MIDDLEWARES": {f"{__name__}.GuardMiddleware": 50},
        "VEILLE_ALLOWED_NETWORKS": list(settings.allowed_networks),
    }


class GuardMiddleware:
    """Refuses requests to non-http(s) URLs and to private addresses, redirects included."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    @classmethod
    def from_crawler(cls, crawler: Any) -> GuardMiddleware:
        """Builds the guard from the crawl's VEILLE_ALLOWED_NETWORKS."""
        networks = crawler.settings.getlist("VEILLE_ALLOWED_NETWORKS")
        return cls(AddressGuard.from_settings(CollectorSettings(allowed_networks=networks)))

    def process_request(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        """Raises IgnoreRequest when the URL's host is not allowed."""
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise IgnoreRequest(f"refused: {parts.scheme or '(none)'} URLs are not collected")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            self._guard.check_host(parts.hostname, port)
        except FetchError as error:
            spider.logger.warning("%s: %s", request.url, error)
            raise IgnoreRequest(str(error)) from None


class WebSpider(scrapy.Spider):
    """Collects one web source: a forum thread (all its pages) or an article page."""

    name = "veille-web"

    def __init__(
        self,
        *,
        url: str,
        source_name: str,
        selectors: ForumSelectors | None = None,
        seen: frozenset[str] = frozenset(),
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_url = url
        self.source_name = source_name
        self.selectors = selectors
        self.seen = seen
        self.cookies = cookies or {}
        self.headers = headers or {}

    async def start(self) -> Any:
        """The source's URL, with its configured cookies and headers."""
        jar: dict[str | bytes, str | bytes | bool | float | int] = dict(self.cookies.items())
        yield scrapy.Request(self.start_url, cookies=jar, headers=self.headers)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Reads a page by its detected kind; follows a thread's next page."""
        if not isinstance(response, TextResponse):
            return
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        detection = detect(response.body, url=response.url, content_type=content_type)
        if detection.engine == "discourse" and detection.kind == "forum":
            yield response.follow(topic_json_url(response.url), callback=self.parse_discourse)
            return
        selectors = self.selectors or ENGINES.get(detection.engine or "")
        if selectors is not None:
            thread = parse_thread(response.body, url=response.url, selectors=selectors)
            if thread.posts:
                yield from self._new(thread_items(thread, source_name=self.source_name))
                if thread.next_page_url:
                    yield response.follow(thread.next_page_url, callback=self.parse)
                return
        try:
            article = extract_article(response.body, url=response.url)
        except ExtractionError as error:
            self.logger.warning("%s: %s", response.url, error)
            return
        yield from self._new(article_items(article, source_name=self.source_name))

    def parse_discourse(self, response: Response) -> Iterator[Any]:
        """Reads a Discourse topic's JSON; asks for the stream's posts not yet read."""
        payload = json.loads(response.body)
        topic_url = response.meta.get("topic_url", response.url.removesuffix(".json"))
        thread = parse_topic(payload, url=topic_url)
        yield from self._new(thread_items(thread, source_name=self.source_name))
        read = set(response.meta.get("read", set()))
        read |= {p["id"] for p in payload.get("post_stream", {}).get("posts", []) if "id" in p}
        follow = more_posts_url(topic_url, payload, seen=read)
        if follow:
            meta = {"topic_url": topic_url, "read": read, "stream": payload["post_stream"]}
            yield response.follow(follow, callback=self.parse_discourse_more, meta=meta)

    def parse_discourse_more(self, response: Response) -> Iterator[Any]:
        """Reads one `posts.json` batch of a Discourse topic."""
        payload = json.loads(response.body)
        topic_url = response.meta["topic_url"]
        thread = parse_topic(payload, url=topic_url)
        yield from self._new(thread_items(thread, source_name=self.source_name))
        read = set(response.meta["read"])
        read |= {p["id"] for p in payload.get("post_stream", {}).get("posts", []) if "id" in p}
        stream = {"post_stream": response.meta["stream"]}
        follow = more_posts_url(topic_url, stream, seen=read)
        if follow and len(read) < 10_000:
            meta = {**response.meta, "read": read}
            yield response.follow(follow, callback=self.parse_discourse_more, meta=meta)

    def _new(self, items: list[RawItem]) -> list[RawItem]:
        return [item for item in items if item.platform_id not in self.seen]


def collect(
    url: str,
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
) -> list[RawItem]:
    """Crawls one web source to the end and returns its new items.

    Runs Twisted's reactor, which starts once per process: call it in a worker process
    (as the scheduler does for each run), not twice in the same one."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    items: list[RawItem] = []

    def keep(item: Any) -> None:
        if isinstance(item, RawItem):
            items.append(item)

    scrapy_settings = crawl_settings(
        settings, contact_url=contact_url, cookies=cookies, max_pages=max_pages
    )
    process = CrawlerProcess({**scrapy_settings, **(overrides or {})}, install_root_handler=False)
    crawler = process.create_crawler(WebSpider)
    crawler.signals.connect(keep, signal=signals.item_scraped)
    process.crawl(
        crawler,
        url=url,
        source_name=source_name,
        selectors=selectors,
        seen=seen,
        cookies=cookies,
        headers=headers,
    )
    process.start()
    return items
