"""End to end: under `veille up`, an erasure over the API removes an author's posts from
search and stats, and their posts collected afterwards (the same post again, edited, or
a new one) are dropped at ingest while the erasure holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.service import VeilleProcess, write_workspace
from tests.httpserver import HTTPTestServer

pytestmark = pytest.mark.slow


def _rss(server: HTTPTestServer, items: list[tuple[str, str, str]]) -> bytes:
    """RSS 2.0 with a `dc:creator` per item: (link, author, text)."""
    entries = "".join(
        f"<item><title>Post {link}</title><link>{server.url(link)}</link>"
        f"<dc:creator>{author}</dc:creator><description>{text}</description>"
        "<pubDate>Fri, 20 Nov 2026 10:00:00 GMT</pubDate></item>"
        for link, author, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Blog</title>'
        f"<link>http://example.org/</link>{entries}</channel></rss>"
    ).encode()


def test_erased_author_is_gone_and_stays_gone(tmp_path: Path, server: HTTPTestServer) -> None:
    first = [
        ("/p/1", "jdupont", "Mon Veloria est tombé en panne, SAV injoignable"),
        ("/p/2", "jdupont", "Veloria toujours en panne, trois semaines"),
        ("/p/3", "marie", "Mon Veloria roule très bien"),
    ]
    server.add(
        "/feed.xml", body=_rss(server, first), headers={"Content-Type": "application/rss+xml"}
    )
    config = write_workspace(
        tmp_path, sources=[{"name": "blog", "url": server.url("/feed.xml"), "interval_minutes": 60}]
    )
    veille = VeilleProcess(config)
    veille.start()
    try:
        veille.wait_for(
            lambda: veille.get("/mentions", q="brand:Veloria")["total"] == 3,
            timeout=180,
            what="three Veloria mentions",
        )
        assert veille.get("/mentions", q="author:jdupont")["total"] == 2
        erased = veille.post("/erasures", {"author": "@jdupont"})
        assert erased.status_code == 201, erased.text
        assert erased.json()["counts"]["mentions_total"] == 2
        assert veille.get("/mentions", q="brand:Veloria")["total"] == 1
        assert veille.get("/mentions", q="author:jdupont")["total"] == 0

        # Collected again: post 1 edited, a new post by them, one naming them, one not.
        later = [
            ("/p/1", "jdupont", "Mon Veloria est tombé en panne, SAV injoignable (édité)"),
            ("/p/4", "JDupont", "Encore un souci avec mon Veloria"),
            ("/p/5", "paul", "Je suis d'accord avec jdupont sur Veloria"),
            ("/p/6", "paul", "Veloria livre enfin à Lyon"),
        ]
        server.add("/again.xml", body=_rss(server, later))
        created = veille.post(
            "/sources", {"name": "again", "url": server.url("/again.xml"), "interval_minutes": 1}
        )
        assert created.status_code == 201, created.text
        veille.wait_for(
            lambda: veille.get("/mentions", q="lyon")["total"] == 1,
            timeout=120,
            what="the new source's unrelated post",
        )
        assert veille.get("/mentions", q="brand:Veloria")["total"] == 2  # marie's, paul's
        assert veille.get("/mentions", q="jdupont")["total"] == 0
        assert veille.get("/mentions", q="author:jdupont")["total"] == 0
    finally:
        assert veille.stop() == 0, veille.log()
    log = veille.log()
    assert "Traceback" not in log
    assert "jdupont" not in log.lower()
