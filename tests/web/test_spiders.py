"""The Scrapy spider against a real HTTP server on 127.0.0.1, in a child process
(Twisted's reactor starts once per process)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from services.collector.web.spiders import crawl_settings
from services.core.settings import CollectorSettings
from tests.httpserver import HTTPTestServer
from tests.web.conftest import page_bytes

_CHILD = """
import json, sys
from services.collector.web.spiders import Target, collect
from services.core.settings import CollectorSettings
args = json.loads(sys.argv[1])
settings = CollectorSettings(allowed_networks=args["allowed"], timeout_seconds=5.0,
                             user_agent="VeilleTest/1.0")
outcome = collect([Target(args["url"], args["start"])], settings=settings, source_name="forum",
                  seen=frozenset(args["seen"]), contact_url="https://veille.example/contact",
                  overrides={"AUTOTHROTTLE_START_DELAY": 0.0, "RETRY_ENABLED": False,
                             "VEILLE_RESOLVE": args["resolve"]})
print(json.dumps({"items": [item.model_dump(mode="json") for item in outcome.items],
                  "threads": outcome.threads, "stats": outcome.stats()}))
"""


def _crawl_outcome(
    url: str,
    *,
    start: str | None = None,
    seen: tuple[str, ...] = (),
    allowed: tuple[str, ...] = ("127.0.0.0/8",),
    resolve: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Runs `collect` in a child process; its items, thread states and figures."""
    args = json.dumps(
        {
            "url": url,
            "start": start or url,
            "seen": list(seen),
            "allowed": list(allowed),
            "resolve": resolve or {},
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, args], capture_output=True, text=True, timeout=60, check=True
    )
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def _crawl(
    url: str, *, seen: tuple[str, ...] = (), allowed: tuple[str, ...] = ("127.0.0.0/8",)
) -> list[dict[str, Any]]:
    return list(_crawl_outcome(url, seen=seen, allowed=allowed)["items"])


def _serve_thread(server: HTTPTestServer) -> str:
    page1 = page_bytes("forums/invision-topic.html").replace(
        b"https://forum.example.org", server.base_url.encode()
    )
    page2 = (
        page1.replace(b"5002", b"5004")
        .replace(b"5001", b"5003")
        .replace(b"ipsPagination_next", b"nothing-next")
    )
    html = {"Content-Type": "text/html; charset=utf-8"}
    server.add("/topic/77-veloria/", body=page1, headers=html)
    server.add("/topic/77-veloria/page/2/", body=page2, headers=html)
    server.add("/robots.txt", body=b"User-agent: *\nDisallow: /private/\n")
    server.add("/private/thread", body=page1, headers=html)
    return server.url("/topic/77-veloria/")


def test_follows_pages_obeys_robots_and_skips_known_posts() -> None:
    with HTTPTestServer() as server:
        url = _serve_thread(server)
        items = _crawl(url)
        assert [item["author"] for item in items] == ["rider_ann", "mechanic_bob"] * 2
        assert len({item["platform_id"] for item in items}) == 4
        request = server.requests_for("/topic/77-veloria/")[0]
        assert request.headers["user-agent"] == "VeilleTest/1.0 (+https://veille.example/contact)"
        assert "cookie" not in request.headers

        # incremental: known posts of page 1 are not yielded again, page 2's new ones are
        known = tuple(str(item["platform_id"]) for item in items[:2])
        again = _crawl(url, seen=known)
        assert [item["platform_id"] for item in again] == [i["platform_id"] for i in items[2:]]

        assert _crawl(server.url("/private/thread")) == []
        assert server.requests_for("/private/thread") == []


def test_loopback_is_refused_unless_allowed() -> None:
    with HTTPTestServer() as server:
        url = _serve_thread(server)
        assert _crawl(url, allowed=()) == []
        assert server.requests == []


def test_crawl_settings() -> None:
    settings = crawl_settings(CollectorSettings(), contact_url="https://x.example/c")
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["AUTOTHROTTLE_ENABLED"] is True
    assert settings["COOKIES_ENABLED"] is False
    assert settings["DOWNLOAD_MAXSIZE"] == CollectorSettings().max_feed_bytes
    assert settings["USER_AGENT"].endswith("(+https://x.example/c)")
    assert crawl_settings(CollectorSettings(), cookies={"sid": "1"})["COOKIES_ENABLED"] is True
    assert settings["TWISTED_DNS_RESOLVER"].endswith("pinning.PinnedResolver")
    assert settings["HTTPPROXY_ENABLED"] is False
    assert {
        scheme for scheme, handler in settings["DOWNLOAD_HANDLERS"].items() if handler is None
    } == {
        "data",
        "file",
        "s3",
        "ftp",
    }


def test_errors_are_counted_by_kind() -> None:
    with HTTPTestServer() as server:
        url = _serve_thread(server)
        server.add("/topic/77-veloria/page/2/", body=b"gone", headers={}, status=404)
        outcome = _crawl_outcome(url)
        assert outcome["stats"]["pages_fetched"] == 1
        assert outcome["stats"]["errors"] == {"http_404": 1}
        assert len(outcome["items"]) == 2
        thread = outcome["threads"][url]
        assert thread["last_page_url"] == url  # the next run resumes at the last page read
        assert thread["last_post_at"] == "2024-03-02T10:01:00+00:00"

        robots = _crawl_outcome(server.url("/private/thread"))
        assert robots["stats"]["errors"] == {"robots": 1}
