"""What a URL would give if saved as a source: its detected kind and the items in it.

A site root (no path) is previewed as kind "site": the feeds and sitemaps it announces,
its articles newest first (what a source on it crawls), and the newest one's items.

One safe fetch (the SSRF-guarded `fetching.fetch`: http(s) only, private addresses
refused also after redirects, size and time bounded), then the parser the detected
kind calls for. Used by `veille sources preview URL` and `POST /api/v1/sources/preview`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services.collector.feeds import FeedParseError, parse_feed
from services.collector.fetching import FetchError, FetchResult, fetch
from services.collector.web.detect import Detection, detect
from services.collector.web.discover import discover, feed_links, is_site_root
from services.collector.web.extract import ExtractionError, article_items, extract_article
from services.collector.web.forums import ENGINES, ForumSelectors, parse_thread, thread_items
from services.collector.web.forums.discourse import parse_topic, topic_json_url
from services.core.models import RawItem, Source
from services.core.settings import CollectorSettings

MAX_PREVIEW_ITEMS = 50


class PreviewError(Exception):
    """The URL could not be previewed; `str(error)` is a short message for people."""


@dataclass(frozen=True)
class Preview:
    """The detected kind of a URL and the items a source on it would collect."""

    url: str
    final_url: str
    kind: str
    engine: str | None
    title: str
    items: list[RawItem] = field(default_factory=list)
    next_page_url: str | None = None
    note: str = ""
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)  # a site's, newest first

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, as the CLI's --json and the API answer."""
        return {
            "url": self.url,
            "final_url": self.final_url,
            "kind": self.kind,
            "engine": self.engine,
            "title": self.title,
            "next_page_url": self.next_page_url,
            "note": self.note,
            "feeds": self.feeds,
            "sitemaps": self.sitemaps,
            "articles": self.articles,
            "items": [item.model_dump(mode="json") for item in self.items],
        }


def preview(
    url: str,
    settings: CollectorSettings,
    *,
    selectors: ForumSelectors | None = None,
    max_items: int = MAX_PREVIEW_ITEMS,
) -> Preview:
    """Fetches `url` safely and extracts what a source on it would collect.

    Raises PreviewError (fetch refused or failed, nothing extractable)."""
    result = _fetch(url, settings)
    content_type = result.headers.get("content-type", "")
    detection = detect(result.body, url=result.final_url, content_type=content_type)
    if selectors is not None:
        detection = Detection("forum", selectors.engine, "selectors from the source's options")
    if detection.kind in ("article", "unknown") and is_site_root(result.final_url):
        return _site(url, result, settings, max_items)
    found = _read(result, detection, settings, selectors)
    feeds = feed_links(result.body, result.final_url) if found.kind == "article" else []
    return Preview(
        url=url,
        final_url=result.final_url,
        kind=found.kind,
        engine=found.engine,
        title=found.title,
        items=found.items[:max_items],
        next_page_url=found.next_page_url,
        note=detection.reason if found.note == "" else found.note,
        feeds=feeds,
    )


def _site(url: str, home: FetchResult, settings: CollectorSettings, max_items: int) -> Preview:
    """A site root: its feeds, sitemaps and newest articles; items of the newest one."""

    def fetcher(address: str) -> FetchResult:
        return home if address == home.final_url else fetch(address, settings=settings)

    try:
        found = discover(home.final_url, settings, fetcher=fetcher)
    except FetchError as error:
        raise PreviewError(str(error)) from None
    items: list[RawItem] = []
    note = "no article found in the site's feeds and sitemaps"
    if found.articles:
        newest = found.articles[0].url
        note = f"items of the newest article, {newest}"
        try:
            page = fetch(newest, settings=settings)
            items = article_items(
                extract_article(page.body, url=page.final_url), source_name="preview"
            )
        except (FetchError, ExtractionError) as error:
            note = f"the newest article, {newest}, could not be read: {error}"
    return Preview(
        url=url,
        final_url=home.final_url,
        kind="site",
        engine=None,
        title="",
        items=items[:max_items],
        note=note,
        feeds=found.feeds,
        sitemaps=found.sitemaps,
        articles=[article.url for article in found.articles[:MAX_PREVIEW_ITEMS]],
    )


def _read(
    result: FetchResult,
    detection: Detection,
    settings: CollectorSettings,
    selectors: ForumSelectors | None,
) -> Preview:
    url = result.final_url
    if detection.kind == "feed":
        return _feed(result)
    if detection.engine == "discourse":
        return _discourse(url, settings)
    if detection.kind == "forum" and detection.engine:
        chosen = selectors or ENGINES.get(detection.engine)
        if chosen is not None:
            thread = parse_thread(result.body, url=url, selectors=chosen)
            if thread.posts:
                return Preview(
                    url=url,
                    final_url=url,
                    kind="forum",
                    engine=thread.engine,
                    title=thread.title,
                    items=thread_items(thread, source_name="preview"),
                    next_page_url=thread.next_page_url,
                )
        # Markers but no posts (a forum index, a variant skin): read it as an article.
    try:
        article = extract_article(result.body, url=url)
    except ExtractionError as error:
        raise PreviewError(str(error)) from None
    note = "forum markers but no posts found; read as an article" if detection.engine else ""
    return Preview(
        url=url,
        final_url=url,
        kind="article",
        engine=None,
        title=article.title,
        items=article_items(article, source_name="preview"),
        note=note,
    )


def _feed(result: FetchResult) -> Preview:
    source = Source(name="preview", kind="feed", url=result.final_url)
    try:
        parsed = parse_feed(
            result.body, source=source, base_url=result.final_url, headers=result.headers
        )
    except FeedParseError as error:
        raise PreviewError(str(error)) from None
    return Preview(
        url=result.final_url,
        final_url=result.final_url,
        kind="feed",
        engine=None,
        title="",
        items=parsed.items,
        note=parsed.warning or "",
    )


def _discourse(url: str, settings: CollectorSettings) -> Preview:
    try:
        api = topic_json_url(url)
    except ValueError as error:
        raise PreviewError(str(error)) from None
    result = _fetch(api, settings)
    try:
        payload = json.loads(result.body)
    except ValueError:
        raise PreviewError("the Discourse API did not answer JSON") from None
    if not isinstance(payload, dict):
        raise PreviewError("the Discourse API answered an unexpected shape")
    thread = parse_topic(payload, url=url)
    return Preview(
        url=url,
        final_url=url,
        kind="forum",
        engine="discourse",
        title=thread.title,
        items=thread_items(thread, source_name="preview"),
    )


def _fetch(url: str, settings: CollectorSettings) -> FetchResult:
    try:
        return fetch(url, settings=settings)
    except FetchError as error:
        raise PreviewError(str(error)) from None
