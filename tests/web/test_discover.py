"""Feed and sitemap discovery for blogs and news sites: a site served from 127.0.0.1.

The home page is a real captured page (soundofscience.fr, which announces its feeds);
the articles are real captured pages. The robots.txt, sitemaps and the feed are written
here, in the shapes of sitemaps.org and Google News sitemaps and of RSS 2.0.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.collector.scheduler import CollectorScheduler
from services.collector.web.discover import discover, feed_links, is_site_root, parse_sitemap
from services.collector.web.preview import preview
from services.core.models import RunStatus, Source
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer
from tests.web.conftest import loopback_scheduler, page_bytes

HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}
RSS = "application/rss+xml"
REVALIDATED = ["/sm.xml", "/sm-news.xml", "/sm-posts.xml.gz", "/feed"]  # with validators
ARTICLES = {  # path -> the real page served there
    "/2026/11/velo-b": "trafilatura/bondyblog.fr.paris-8.html",
    "/2026/11/velo-a": "trafilatura/lemire.me.json.html",
    "/2025/01/old-post": "trafilatura/caktusgroup.com.django.html",
}


def _urlset(base: str, entries: str, *, news: bool = False) -> bytes:
    namespace = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{namespace}>'
        f"{entries.replace('BASE', base)}</urlset>"
    ).encode()


TODAY = datetime.now(UTC).replace(microsecond=0)  # one moment for every date of a run


def _days_ago(days: int, fmt: str = "%Y-%m-%dT%H:%M:%S+00:00") -> str:
    return (TODAY - timedelta(days=days)).strftime(fmt)


def serve_site(server: HTTPTestServer, *, validators: bool = False) -> str:
    """A blog at the server's root, its articles written 1 day, 3 days and 400 days ago;
    returns its URL. With `validators`, sitemaps and the feed carry an ETag (the server
    then answers 304 to a request that sends it back)."""
    base = server.base_url

    def tagged(headers: dict[str, str], tag: str) -> dict[str, str]:
        return {**headers, "ETag": f'"{tag}"'} if validators else headers

    home = page_bytes("trafilatura/soundofscience.fr.1927.html").replace(
        b"https://www.soundofscience.fr", base.encode()
    )
    server.add("/", body=home, headers=HTML)
    server.add("/robots.txt", body=f"User-agent: *\nAllow: /\nSitemap: {base}/sm.xml\n".encode())
    index = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sm-posts.xml.gz</loc><lastmod>2026-11-01</lastmod></sitemap>"
        f"<sitemap><loc>{base}/sm-news.xml</loc><lastmod>2026-11-21</lastmod></sitemap>"
        "</sitemapindex>"
    )
    server.add("/sm.xml", body=index.encode(), headers=tagged(XML, "index-1"))
    news = (
        "<url><loc>BASE/2026/11/velo-b</loc><news:news><news:publication>"
        "<news:name>Blog</news:name><news:language>fr</news:language></news:publication>"
        f"<news:publication_date>{_days_ago(1)}</news:publication_date>"
        "<news:title>Vélo B</news:title></news:news></url>"
    )
    server.add("/sm-news.xml", body=_urlset(base, news, news=True), headers=tagged(XML, "news-1"))
    posts = (
        "<url><loc>BASE/2025/01/old-post</loc>"
        f"<lastmod>{_days_ago(400, '%Y-%m-%d')}</lastmod></url>"
        "<url><loc>https://elsewhere.example/not-this-site</loc><lastmod>2026-11-22</lastmod></url>"
    )
    server.add(
        "/sm-posts.xml.gz",
        body=gzip.compress(_urlset(base, posts)),
        headers=tagged({"Content-Type": "application/x-gzip"}, "posts-1"),
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>{base}/</link><description>d</description>"
        f"<item><title>Vélo A</title><link>{base}/2026/11/velo-a</link>"
        f"<description>a</description><pubDate>{_days_ago(3, '%a, %d %b %Y %H:%M:%S GMT')}"
        "</pubDate></item>"
        "</channel></rss>"
    )
    server.add("/feed", body=feed.encode(), headers=tagged({"Content-Type": RSS}, "feed-1"))
    for path, page in ARTICLES.items():
        server.add(path, body=page_bytes(page), headers=HTML)
    return server.url("/")


def test_discovery_finds_feeds_sitemaps_and_articles_newest_first(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    site = serve_site(server)
    found = discover(site, settings)
    base = server.base_url
    assert found.feeds == [f"{base}/feed", f"{base}/comments/feed", f"{base}/1927/feed"]
    assert found.sitemaps == [f"{base}/sm.xml", f"{base}/sm-news.xml", f"{base}/sm-posts.xml.gz"]
    assert [a.url.removeprefix(base) for a in found.articles] == list(ARTICLES)
    assert found.articles[0].published_at is not None
    assert found.articles[0].published_at.isoformat() == _days_ago(1)


def test_a_site_without_sitemap_in_robots_is_read_through_sitemap_xml(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    server.add("/", body=b"<html><head><title>t</title></head><body>hi</body></html>")
    entries = "<url><loc>BASE/a</loc></url>"
    server.add("/sitemap.xml", body=_urlset(server.base_url, entries), headers=XML)
    found = discover(server.url("/"), settings)
    assert found.sitemaps == [server.url("/sitemap.xml")]
    assert [a.url for a in found.articles] == [server.url("/a")]
    assert found.feeds == []


@contextmanager
def blog_source(site: str, tmp_path: Path) -> Iterator[tuple[SqlStateStore, CollectorScheduler]]:
    """A state store holding one web source "blog" on `site`, and its scheduler."""
    state = SqlStateStore(f"sqlite:///{tmp_path}/state.db")
    try:
        source = Source.model_validate({"name": "blog", "kind": "web", "url": site, "max_pages": 2})
        state.sync_workspace(sources=[source], brands=[], competitors=[])
        yield state, loopback_scheduler(state)
    finally:
        state.close()


def test_a_web_source_on_a_site_crawls_its_newest_articles(
    server: HTTPTestServer, tmp_path: Path
) -> None:
    site = serve_site(server)
    with blog_source(site, tmp_path) as (state, scheduler):
        (first,) = scheduler.run_once()
        assert first.status == RunStatus.OK, first.error
        assert first.stats is not None and first.stats["pages_fetched"] == 2
        urls = {item.item.url for item in state.claim_items(limit=100)}
        assert {str(u).removeprefix(server.base_url) for u in urls} >= {
            "/2026/11/velo-b",
            "/2026/11/velo-a",
        }
        assert server.requests_for("/2025/01/old-post") == []

        # the pages read carry old dates (real captures): left alone from now on, and the
        # article the sitemap dates 400 days back is never worth a visit
        assert state.get_cursor("blog")["discovery"] == {}  # the test site sends no ETag
        (second,) = scheduler.run_once()
        assert second.stats == {
            "pages_fetched": 0,
            "errors": {},
            "threads_left_alone": 3,
            "discovery_not_modified": 0,  # the test site sends no validators
        }
        assert server.requests_for("/2025/01/old-post") == []
        assert len(server.requests_for("/2026/11/velo-b")) == 1


def _downloaded(server: HTTPTestServer, paths: list[str]) -> int:
    return sum(e.bytes_sent for e in server.exchanges if e.request.path in paths)


def test_unchanged_sitemaps_and_feeds_are_not_downloaded_again(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    site = serve_site(server, validators=True)
    first = discover(site, settings)
    assert sorted(first.remembered) == sorted(server.url(p) for p in REVALIDATED)
    assert first.not_modified == 0
    sent_first = _downloaded(server, REVALIDATED)

    before = len(server.exchanges)
    again = discover(site, settings, remembered=first.remembered)
    assert again.not_modified == len(REVALIDATED)
    for path in REVALIDATED:
        last = server.requests_for(path)[-1]
        assert last.headers.get("if-none-match"), path
    statuses = {e.request.path: e.status for e in server.exchanges[before:]}
    assert {path: statuses[path] for path in REVALIDATED} == dict.fromkeys(REVALIDATED, 304)
    assert again.articles == first.articles and again.sitemaps == first.sitemaps
    assert again.remembered == first.remembered  # kept for the run after
    sent_again = _downloaded(server, REVALIDATED) - sent_first
    assert sent_again < sent_first / 2  # headers only


def test_a_changed_sitemap_is_read_again(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    site = serve_site(server, validators=True)
    first = discover(site, settings)
    fresh = (
        "<url><loc>BASE/2026/11/velo-c</loc><news:news><news:publication>"
        "<news:name>Blog</news:name><news:language>fr</news:language></news:publication>"
        f"<news:publication_date>{_days_ago(0)}</news:publication_date>"
        "<news:title>Vélo C</news:title></news:news></url>"
    )
    server.add(
        "/sm-news.xml",
        body=_urlset(server.base_url, fresh, news=True),
        headers={**XML, "ETag": '"news-2"'},
    )
    again = discover(site, settings, remembered=first.remembered)
    assert again.not_modified == len(REVALIDATED) - 1
    assert again.articles[0].url == server.url("/2026/11/velo-c")
    assert again.remembered[server.url("/sm-news.xml")]["etag"] == '"news-2"'


def test_a_remembered_state_this_version_cannot_use_is_ignored(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    site = serve_site(server, validators=True)
    expected = discover(site, settings).articles
    odd = {
        server.url("/sm.xml"): {"etag": 5, "entries": "nope"},
        server.url("/feed"): {
            "etag": '"feed-1"',
            "last_modified": None,
            "is_index": False,
            "entries": [[1, 2]],
        },
        "not a url": "at all",
    }
    found = discover(site, settings, remembered=odd)
    assert found.articles == expected and found.not_modified == 0
    assert not server.requests_for("/feed")[-1].headers.get("if-none-match")


def test_a_web_source_revalidates_its_sitemaps_between_runs(
    server: HTTPTestServer, tmp_path: Path
) -> None:
    site = serve_site(server, validators=True)
    with blog_source(site, tmp_path) as (state, scheduler):
        (first,) = scheduler.run_once()
        assert first.stats is not None and first.stats["discovery_not_modified"] == 0
        assert len(state.get_cursor("blog")["discovery"]) == len(REVALIDATED)
        (second,) = scheduler.run_once()
        assert second.status == RunStatus.OK, second.error
        assert second.stats is not None
        assert second.stats["discovery_not_modified"] == len(REVALIDATED)


def test_preview_of_a_site_shows_what_was_discovered(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    site = serve_site(server)
    shown = preview(site, settings).to_json()
    assert shown["kind"] == "site"
    assert shown["feeds"][0] == server.url("/feed")
    assert shown["sitemaps"][0] == server.url("/sm.xml")
    assert shown["articles"][0] == server.url("/2026/11/velo-b")
    assert shown["items"] and shown["items"][0]["url"] == server.url("/2026/11/velo-b")


def test_feed_links_and_sitemap_parsing() -> None:
    html = (
        b'<html><head><link rel="alternate" type="application/atom+xml" href="/atom">'
        b'<link rel="alternate" type="text/html" href="/fr">'
        b'<link rel="stylesheet" type="application/rss+xml" href="/nope"></head></html>'
    )
    assert feed_links(html, "https://blog.example/post/1") == ["https://blog.example/atom"]
    assert feed_links(b"", "https://blog.example/") == []
    assert parse_sitemap(b"not xml at all", max_bytes=1000).entries == []
    assert is_site_root("https://blog.example") and is_site_root("https://blog.example/")
    assert not is_site_root("https://blog.example/post/1")


def test_cli_preview_of_a_site_lists_feeds_and_sitemaps(
    server: HTTPTestServer, tmp_path: Path
) -> None:
    from tests.cli_runner import veille
    from tests.e2e.service import write_workspace

    site = serve_site(server)
    config = str(write_workspace(tmp_path, sources=[]))
    result = veille("sources", "preview", site, "--config", config)
    assert result.returncode == 0, result.stderr
    assert f"feed: {server.url('/feed')}" in result.stdout
    assert f"sitemap: {server.url('/sm-news.xml')}" in result.stdout
    assert "3 articles, newest:" in result.stdout
