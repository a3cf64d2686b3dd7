"""Source preview against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from services.collector.web.forums import load_selectors
from services.collector.web.preview import PreviewError, preview
from services.core.settings import CollectorSettings
from tests.httpserver import HTTPTestServer
from tests.web.conftest import page_bytes, serve_page


def test_forum_thread(server: HTTPTestServer, settings: CollectorSettings) -> None:
    url = serve_page(server, "/threads/pepe.230143/", "trafilatura/katzen-forum.net-Pepe.html")
    result = preview(url, settings)
    assert (result.kind, result.engine) == ("forum", "xenforo")
    assert len(result.items) == 18
    assert result.items[0].author == "Pepemaus"
    data = result.to_json()
    assert data["items"][0]["thread"]["item_kind"] == "post"
    assert server.requests_for("/threads/pepe.230143/")[0].headers["user-agent"] == "VeilleTest/1.0"


def test_article_with_comments(server: HTTPTestServer, settings: CollectorSettings) -> None:
    url = serve_page(server, "/blog/json", "trafilatura/lemire.me.json.html")
    result = preview(url, settings, max_items=3)
    assert result.kind == "article"
    assert result.title == "JSON parsing: simdjson vs. JSON for Modern C++"
    assert [item.thread.item_kind for item in result.items if item.thread] == [
        "article",
        "comment",
        "comment",
    ]


def test_discourse_goes_through_the_json_api(
    server: HTTPTestServer, settings: CollectorSettings
) -> None:
    html = (
        b'<html><head><meta name="generator" content="Discourse 3.2.0"></head><body></body></html>'
    )
    server.add("/t/velo/4242", body=html, headers={"Content-Type": "text/html"})
    server.add(
        "/t/4242.json",
        body=page_bytes("forums/discourse-topic.json"),
        headers={"Content-Type": "application/json"},
    )
    result = preview(server.url("/t/velo/4242"), settings)
    assert (result.kind, result.engine) == ("forum", "discourse")
    assert [item.author for item in result.items] == ["claire_m", "bob42", "claire_m"]


def test_configured_selectors(server: HTTPTestServer, settings: CollectorSettings) -> None:
    url = serve_page(server, "/any-forum", "trafilatura/katzen-forum.net-Pepe.html")
    selectors = load_selectors({"post": "article.message--post", "text": ".bbWrapper"})
    result = preview(url, settings, selectors=selectors)
    assert (result.kind, result.engine, len(result.items)) == ("forum", "selectors", 18)


def test_feed(server: HTTPTestServer, settings: CollectorSettings) -> None:
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Hello</title><link>https://example.org/1</link>"
        b"<description>World</description></item></channel></rss>"
    )
    server.add("/feed", body=rss, headers={"Content-Type": "application/rss+xml"})
    result = preview(server.url("/feed"), settings)
    assert result.kind == "feed"
    assert [item.title for item in result.items] == ["Hello"]


def test_private_addresses_are_refused(server: HTTPTestServer) -> None:
    url = serve_page(server, "/a", "trafilatura/lemire.me.json.html")
    with pytest.raises(PreviewError, match=r"refused: .*loopback"):
        preview(url, CollectorSettings())
    assert server.requests == []


def test_errors_are_clear(server: HTTPTestServer, settings: CollectorSettings) -> None:
    with pytest.raises(PreviewError, match="HTTP 404"):
        preview(server.url("/missing"), settings)
    server.add("/empty", body=b"<html><body></body></html>", headers={"Content-Type": "text/html"})
    with pytest.raises(PreviewError, match="no article text"):
        preview(server.url("/empty"), settings)


def _rss(*items: tuple[str, str]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>https://shop.example/{i}</link>"
        f"<description>{text}</description></item>"
        for i, (title, text) in enumerate(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'
    ).encode()


def test_cli_preview_names_the_brands_each_item_mentions(
    server: HTTPTestServer, tmp_path: Path
) -> None:
    from tests.cli_runner import veille
    from tests.e2e.service import write_workspace

    items = [
        ("Test ride", "Mon Veloria a tenu 80 km sans recharge."),
        ("Comparatif", "Trekko ou pas, la batterie compte."),
        ("Météo", "Pluie sur Lyon toute la semaine."),
    ]
    server.add("/feed", body=_rss(*items), headers={"Content-Type": "application/rss+xml"})
    url = server.url("/feed")
    config = write_workspace(tmp_path, sources=[])

    result = veille("sources", "preview", url, "--config", str(config))

    assert result.returncode == 0, result.stderr
    assert "names" in result.stdout, result.stdout
    rows = {line.split("│")[5].strip() for line in result.stdout.splitlines() if "│" in line}
    assert {"Veloria", "Trekko", ""} <= rows, result.stdout
    assert "2 of 3 items name a brand and would be kept (keep: matching, the default)" in (
        " ".join(result.stdout.split())
    )

    # --json carries the same column: each item's names, and the summary's count.
    as_json = veille("sources", "preview", url, "--json", "--config", str(config))
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert [(item["title"], item["names"]) for item in body["items"]] == [
        ("Test ride", ["Veloria"]),
        ("Comparatif", ["Trekko"]),
        ("Météo", []),
    ]
    assert body["would_keep"] == 2

    # A source on this URL that keeps everything: no "would be kept" summary.
    keep_all = write_workspace(
        tmp_path / "all", sources=[{"name": "shop", "kind": "feed", "url": url, "keep": "all"}]
    )
    everything = veille("sources", "preview", url, "--config", str(keep_all))
    assert everything.returncode == 0, everything.stderr
    assert "would be kept" not in everything.stdout
    kept_json = json.loads(
        veille("sources", "preview", url, "--json", "--config", str(keep_all)).stdout
    )
    assert kept_json["would_keep"] is None
    assert [item["names"] for item in kept_json["items"]] == [["Veloria"], ["Trekko"], []]


def test_cli_preview_json_without_watched_names_says_so(
    server: HTTPTestServer, tmp_path: Path
) -> None:
    from tests.cli_runner import veille
    from tests.e2e.service import write_workspace

    server.add("/feed", body=_rss(("a", "b")), headers={"Content-Type": "application/rss+xml"})
    config = write_workspace(tmp_path, sources=[])
    written = yaml.safe_load((config / "veille.yaml").read_text(encoding="utf-8"))
    written.update(brands=[], competitors=[])
    (config / "veille.yaml").write_text(yaml.safe_dump(written), encoding="utf-8")
    result = veille("sources", "preview", server.url("/feed"), "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert [item["names"] for item in body["items"]] == [None]
    assert body["would_keep"] is None
