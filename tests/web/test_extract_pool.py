"""Crawls with the extraction pool against a real HTTP server on 127.0.0.1, each in a
child process (Twisted's reactor starts once per process): the pool gives exactly the
items of in-process extraction, and a worker that dies costs one page, not the crawl."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from services.collector.web.extract_pool import (
    MIN_TARGETS_FOR_POOL,
    ExtractionPool,
    default_workers,
    pool_for,
)
from tests.httpserver import HTTPTestServer
from tests.web.conftest import PAGES, page_bytes
from tests.web.crash_extractor import CRASH_MARK, RAISE_MARK

_CHILD = """
import json, sys
from services.collector.web import spiders
from services.collector.web.extract_pool import ExtractionPool
from services.core.settings import CollectorSettings
args = json.loads(sys.argv[1])
if args["crashing"]:  # the pool runs the fake extractor that kills its worker
    from tests.web.crash_extractor import extract_or_crash
    def crashing_pool(workers, *, targets):
        pool = ExtractionPool(2, extractor=extract_or_crash)
        pool.start()
        return pool
    spiders.pool_for = crashing_pool
settings = CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=5.0)
outcome = spiders.collect([spiders.Target(u, u) for u in args["urls"]], settings=settings,
                          source_name="web", max_pages=1, extract_workers=args["workers"],
                          overrides={"AUTOTHROTTLE_ENABLED": False, "RETRY_ENABLED": False,
                                     "CONCURRENT_REQUESTS_PER_DOMAIN": 8})
print(json.dumps({"items": [item.model_dump(mode="json", exclude={"collected_at"})
                            for item in outcome.items], "stats": outcome.stats()}))
"""


def _crawl(urls: list[str], *, workers: int, crashing: bool = False) -> dict[str, Any]:
    """Crawls `urls` as article targets in a child process; its items and figures."""
    args = json.dumps({"urls": urls, "workers": workers, "crashing": crashing})
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def _serve_fixture_pages(server: HTTPTestServer) -> list[str]:
    """Every trafilatura fixture page, a page with comments and one that is no article."""
    html = {"Content-Type": "text/html; charset=utf-8"}
    names = sorted(p.name for p in (PAGES / "trafilatura").glob("*.html"))
    urls = []
    for index, name in enumerate(names):
        server.add(f"/page/{index}", body=page_bytes(f"trafilatura/{name}"), headers=html)
        urls.append(server.url(f"/page/{index}"))
    server.add("/empty", body=b"<html><body></body></html>", headers=html)
    return [*urls, server.url("/empty")]


def test_pooled_extraction_gives_the_same_items_as_in_process() -> None:
    with HTTPTestServer() as server:
        urls = _serve_fixture_pages(server)
        pooled = _crawl(urls, workers=2)
        alone = _crawl(urls, workers=0)
    assert pooled["stats"]["pages_fetched"] == alone["stats"]["pages_fetched"] == len(urls)
    assert pooled["stats"]["errors"] == alone["stats"]["errors"] == {"extraction": 1}
    assert len(pooled["items"]) > len(urls)  # articles and their comments
    # the same items, in the same order: targets first, then each page's own order
    assert pooled["items"] == alone["items"]
    roots = list(dict.fromkeys(item["thread"]["root_id"] for item in pooled["items"]))
    assert roots == sorted(roots, key=urls.index)


def test_a_worker_that_dies_costs_its_page_not_the_crawl() -> None:
    with HTTPTestServer() as server:
        urls = _serve_fixture_pages(server)[:-1]
        html = {"Content-Type": "text/html; charset=utf-8"}
        page = page_bytes("trafilatura/caktusgroup.com.django.html")
        server.add("/crash", body=page.replace(b"<body", CRASH_MARK + b"<body", 1), headers=html)
        server.add("/raise", body=page.replace(b"<body", RAISE_MARK + b"<body", 1), headers=html)
        bad = [server.url("/crash"), server.url("/raise")]
        crawled = _crawl([*bad, *urls], workers=2, crashing=True)
        expected = _crawl(urls, workers=0)
    assert crawled["stats"]["pages_fetched"] == len(urls) + 2
    assert crawled["stats"]["errors"] == {"extraction": 2}
    # the pages that shared the dead worker's pool were tried again, and all extracted
    assert crawled["items"] == expected["items"]


def test_pool_size_and_small_crawls() -> None:
    assert 1 <= default_workers() <= 2
    assert pool_for(0, targets=100) is None
    assert pool_for(None, targets=MIN_TARGETS_FOR_POOL - 1) is None
    with pytest.raises(ValueError, match="at least 1 worker"):
        ExtractionPool(0)
