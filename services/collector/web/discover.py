"""Finds a blog's or news site's articles from its home page: feeds and sitemaps.

From a site URL: the feeds its pages announce (`<link rel="alternate"
type="application/rss+xml|atom+xml">`), the sitemaps its robots.txt lists (`Sitemap:`
lines; /sitemap.xml when it lists none), sitemap indexes (the newest child sitemaps
first) and news sitemaps (`news:publication_date`). Their entries become the article
URLs to crawl, newest first. Parsing uses Scrapy's sitemap utilities; every fetch goes
through the SSRF-guarded `fetching.fetch` (same address rules as the spider).

Sitemaps and feeds are asked for conditionally: what a run read (validators and the newest
entries) is kept in the source's cursor, and the next run sends If-None-Match /
If-Modified-Since and re-uses those entries when the server answers 304 Not Modified, so
a site's large sitemaps are not downloaded again every run while unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree  # type: ignore[import-untyped]  # no stubs in the venv
import lxml.html  # type: ignore[import-untyped]
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from services.collector.feeds import FeedParseError, parse_feed
from services.collector.fetching import FetchError, FetchResult, fetch
from services.collector.web.dates import parse_date
from services.collector.web.detect import detect
from services.core.models import Source
from services.core.settings import CollectorSettings

log = logging.getLogger("veille.collector")

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
MAX_SITEMAPS = 6  # sitemap files read per discovery, indexes included
MAX_FEEDS = 3
MAX_CANDIDATES = 1000

Fetcher = Callable[[str], FetchResult]


@dataclass(frozen=True)
class Article:
    """An article URL found in a feed or sitemap, with its date when given."""

    url: str
    published_at: datetime | None = None


@dataclass(frozen=True)
class Discovery:
    """What a site announces: its feeds, its sitemaps, and its articles newest first."""

    site_url: str
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    remembered: dict[str, Any] = field(default_factory=dict)  # for the next run's requests
    not_modified: int = 0  # sitemaps and feeds the server said were unchanged

    def to_json(self) -> dict[str, object]:
        """Plain JSON types, for the preview."""
        return {
            "feeds": self.feeds,
            "sitemaps": self.sitemaps,
            "articles": [
                {"url": a.url, "published_at": a.published_at and a.published_at.isoformat()}
                for a in self.articles
            ],
        }


def is_site_root(url: str) -> bool:
    """A URL naming a whole site (no path), which is crawled through discovery."""
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def feed_links(html: bytes, base_url: str) -> list[str]:
    """The feeds a page announces with `<link rel="alternate" type="...">`, absolute."""
    try:
        tree = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return []
    found: list[str] = []
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        media = (link.get("type") or "").split(";", 1)[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and media in _FEED_TYPES and href:
            absolute = urljoin(base_url, href)
            if urlsplit(absolute).scheme in ("http", "https") and absolute not in found:
                found.append(absolute)
    return found


@dataclass(frozen=True)
class ParsedSitemap:
    """A sitemap file: an index (child sitemaps) or a url set (articles)."""

    is_index: bool
    entries: list[Article]


def parse_sitemap(body: bytes, *, max_bytes: int) -> ParsedSitemap:
    """Parses a sitemap or sitemap index (gzipped or not); news dates win over lastmod."""
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, max_size=max_bytes)
    try:
        sitemap = Sitemap(body)
    except (lxml.etree.XMLSyntaxError, StopIteration):
        return ParsedSitemap(False, [])
    news_dates = _news_dates(body) if b"publication_date" in body else {}
    entries = []
    for entry in sitemap:
        loc = str(entry.get("loc", "")).strip()
        if not loc:
            continue
        date = parse_date(news_dates.get(loc)) or parse_date(entry.get("lastmod"))
        entries.append(Article(loc, date))
    return ParsedSitemap(sitemap.type == "sitemapindex", entries)


def newest_first(articles: list[Article]) -> list[Article]:
    """Articles without duplicates, dated ones newest first, undated ones after."""
    best: dict[str, Article] = {}
    for article in articles:
        known = best.get(article.url)
        if known is None or (known.published_at is None and article.published_at is not None):
            best[article.url] = article
    dated = sorted((a for a in best.values() if a.published_at), key=_date, reverse=True)
    return [*dated, *(a for a in best.values() if a.published_at is None)]


def discover(
    site_url: str,
    settings: CollectorSettings,
    *,
    fetcher: Fetcher | None = None,
    remembered: dict[str, Any] | None = None,
) -> Discovery:
    """Reads a site's home page, robots.txt, sitemaps and feeds; never raises for a
    missing or broken one (logged), only for the home page itself (FetchError).

    `remembered` is the previous run's `Discovery.remembered` (conditional requests; a
    custom `fetcher` makes plain ones)."""
    get = fetcher or (lambda url: fetch(url, settings=settings))
    reader = _Reader(get, None if fetcher else settings, remembered or {})
    home = get(site_url)
    base = home.final_url
    content_type = home.headers.get("content-type", "")
    if detect(home.body, url=base, content_type=content_type).kind == "feed":
        feeds = [base]
    else:
        feeds = feed_links(home.body, base)[:MAX_FEEDS]
    sitemaps = _sitemaps_from_robots(base, get) or [urljoin(base, "/sitemap.xml")]
    articles: list[Article] = []
    read_sitemaps: list[str] = []
    queue = list(sitemaps)
    while queue and len(read_sitemaps) < MAX_SITEMAPS:
        sitemap_url = queue.pop(0)
        parsed = reader.read(
            sitemap_url, lambda r: parse_sitemap(r.body, max_bytes=settings.max_feed_bytes)
        )
        if parsed is None or not parsed.entries:
            continue
        read_sitemaps.append(sitemap_url)
        if parsed.is_index:
            queue = [a.url for a in newest_first(parsed.entries)] + queue
        else:
            articles.extend(parsed.entries)
    for feed_url in feeds:
        if feed_url == base:  # the home page is itself the feed
            articles.extend(_feed_articles(feed_url, home))
            continue
        parsed = reader.read(feed_url, lambda r: ParsedSitemap(False, _feed_articles(r.url, r)))
        articles.extend(parsed.entries if parsed else [])
    site_host = urlsplit(base).hostname
    same_site = [a for a in articles if urlsplit(a.url).hostname == site_host]
    return Discovery(
        site_url=base,
        feeds=feeds,
        sitemaps=read_sitemaps,
        articles=newest_first(same_site)[:MAX_CANDIDATES],
        remembered=reader.remembered,
        not_modified=reader.not_modified,
    )


class _Reader:
    """Reads sitemaps and feeds, conditionally when the last run left validators."""

    def __init__(
        self, get: Fetcher, settings: CollectorSettings | None, previous: dict[str, Any]
    ) -> None:
        self.get = get
        self.settings = settings  # None: plain requests through `get`
        self.previous = {url: entry for url, entry in previous.items() if _well_formed(entry)}
        self.remembered: dict[str, Any] = {}
        self.not_modified = 0

    def read(self, url: str, parse: Callable[[FetchResult], ParsedSitemap]) -> ParsedSitemap | None:
        """`url` parsed, from the server or, if it says nothing changed, from last run."""
        known = self.previous.get(url)
        settings = self.settings
        get = self.get
        if settings is not None and known is not None:

            def get(u: str) -> FetchResult:
                etag, last_modified = known["etag"], known["last_modified"]
                return fetch(u, settings=settings, etag=etag, last_modified=last_modified)

        result = _try(get, url)
        if result is None:
            return None
        if result.not_modified and known is not None:
            self.not_modified += 1
            self.remembered[url] = known
            return ParsedSitemap(
                known["is_index"],
                [Article(u, parse_date(d) if d else None) for u, d in known["entries"]],
            )
        parsed = parse(result)
        if self.settings is not None and (result.etag or result.last_modified):
            self.remembered[url] = {
                "etag": result.etag,
                "last_modified": result.last_modified,
                "is_index": parsed.is_index,
                "entries": [
                    [a.url, a.published_at.isoformat() if a.published_at else None]
                    for a in newest_first(parsed.entries)[:MAX_CANDIDATES]
                ],
            }
        return parsed


def _well_formed(entry: Any) -> bool:
    """A remembered entry this version can use (a cursor may be older, or edited)."""
    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(k), str | None) for k in ("etag", "last_modified"))
        and isinstance(entry.get("is_index"), bool)
        and isinstance(entry.get("entries"), list)
        and all(
            isinstance(e, list)
            and len(e) == 2
            and isinstance(e[0], str)
            and isinstance(e[1], str | None)
            for e in entry["entries"]
        )
    )


def _sitemaps_from_robots(base: str, get: Fetcher) -> list[str]:
    robots = _try(get, urljoin(base, "/robots.txt"))
    if robots is None:
        return []
    return list(dict.fromkeys(sitemap_urls_from_robots(robots.body, base_url=base)))


def _feed_articles(feed_url: str, result: FetchResult) -> list[Article]:
    source = Source.model_validate({"name": "discovery", "kind": "feed", "url": result.final_url})
    try:
        parsed = parse_feed(
            result.body, source=source, base_url=result.final_url, headers=result.headers
        )
    except FeedParseError as error:
        log.info("feed %s not read: %s", feed_url, error)
        return []
    return [Article(str(item.url), item.published_at) for item in parsed.items if item.url]


def _try(get: Fetcher, url: str) -> FetchResult | None:
    try:
        return get(url)
    except FetchError as error:
        log.info("discovery: %s not read: %s", url, error)
        return None


def _news_dates(body: bytes) -> dict[str, str]:
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        root = lxml.etree.fromstring(body, parser=parser)
    except lxml.etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    dates: dict[str, str] = {}
    for url in root.iterfind("{*}url"):
        loc = url.findtext("{*}loc")
        published = url.findtext("{*}news/{*}publication_date")
        if loc and published:
            dates[loc.strip()] = published.strip()
    return dates


def _date(article: Article) -> datetime:
    assert article.published_at is not None
    return article.published_at
