"""End to end: `veille up` collects a real feed over HTTP, analyzes, stores and serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.service import REPO, VeilleProcess, rss, write_workspace
from tests.httpserver import HTTPTestServer

pytestmark = pytest.mark.slow

ITEMS = [
    {
        "title": "Veloria ouvre une boutique",
        "link": "/posts/1",
        "text": "J'adore mon nouveau vélo Veloria, la batterie tient toute la semaine !",
    },
    {
        "title": "Delivery woes",
        "link": "/posts/2",
        "text": "Still waiting for my Veloria after three weeks, support never answers. Awful.",
    },
    {
        "title": "Comparatif",
        "link": "/posts/3",
        "text": "Entre Veloria et Trekko, le comparatif complet des vélos électriques urbains.",
    },
    {"title": "Météo", "link": "/posts/4", "text": "Il pleuvra demain sur toute la Bretagne."},
]


def _feed(server: HTTPTestServer, items: list[dict[str, str]]) -> bytes:
    return rss([{**i, "link": server.url(i["link"])} for i in items])


def test_feed_items_become_tagged_searchable_mentions(
    tmp_path: Path, server: HTTPTestServer
) -> None:
    server.add(
        "/feed.xml", body=_feed(server, ITEMS), headers={"Content-Type": "application/rss+xml"}
    )
    config = write_workspace(
        tmp_path, sources=[{"name": "blog", "url": server.url("/feed.xml"), "interval_minutes": 60}]
    )
    veille = VeilleProcess(config)
    veille.start()
    try:
        page = veille.wait_for(
            lambda: (p := veille.get("/mentions", q="brand:Veloria"))["total"] == 3 and p,
            timeout=120,
            what="three Veloria mentions",
        )
        by_title = {m["title"]: m for m in page["mentions"]}
        assert set(by_title) == {"Veloria ouvre une boutique", "Delivery woes", "Comparatif"}
        assert by_title["Veloria ouvre une boutique"]["language"] == "fr"
        assert by_title["Delivery woes"]["language"] == "en"
        assert by_title["Comparatif"]["competitors"] == ["Trekko"]
        assert by_title["Veloria ouvre une boutique"]["sentiment"]["label"] == "positive"
        assert by_title["Delivery woes"]["sentiment"]["label"] == "negative"
        # The weather item names no brand: not kept (keep: matching).
        assert veille.get("/mentions", q="bretagne")["total"] == 0
        status = veille.get("/sources/blog/status")
        assert status["state"] == "ok" and status["total_items"] == 4

        # A feed added over the API is polled at once; its new items appear as mentions.
        server.add(
            "/second.xml",
            body=_feed(
                server, [{"title": "Nouveau", "link": "/p/9", "text": "Veloria recrute à Lyon"}]
            ),
        )
        created = veille.post(
            "/sources", {"name": "second", "url": server.url("/second.xml"), "interval_minutes": 1}
        )
        assert created.status_code == 201, created.text
        veille.wait_for(
            lambda: veille.get("/mentions", q="recrute")["total"] == 1,
            timeout=60,
            what="the new source's mention",
        )
    finally:
        assert veille.stop() == 0, veille.log()
    assert "Traceback" not in veille.log()


def test_kill_9_during_collection_and_analysis_loses_and_duplicates_nothing(
    tmp_path: Path, server: HTTPTestServer
) -> None:
    items = [
        {
            "title": f"Avis {n}",
            "link": f"/avis/{n}",
            "text": f"Mon Veloria numéro {n} roule très bien.",
        }
        for n in range(150)
    ]
    body = _feed(server, items)
    # The feed arrives slowly, so the first kill lands in the middle of collection.
    chunks = [body[i : i + 2048] for i in range(0, len(body), 2048)]
    server.add("/slow.xml", body=lambda: iter(chunks), chunk_delay=0.05)
    config = write_workspace(
        tmp_path,
        sources=[{"name": "slow", "url": server.url("/slow.xml"), "interval_minutes": 60}],
        analyzer={"batch_size": 8, "lease_seconds": 5},
    )
    veille = VeilleProcess(config)

    veille.start()
    veille.wait_for(lambda: server.requests_for("/slow.xml"), timeout=60, what="the feed request")
    veille.kill()  # mid-download: nothing recorded, the next start fetches again
    server.add("/slow.xml", body=lambda: iter(chunks), chunk_delay=0.0)

    veille.start()

    def analysis_under_way() -> bool:
        inbox: dict[str, Any] = veille.health().get("inbox", {})
        return 0 < int(inbox.get("done", 0)) < 150

    veille.wait_for(analysis_under_way, timeout=120, what="analysis to be under way")
    veille.kill()  # mid-analysis: leased items go back to the inbox

    veille.start()
    try:
        veille.wait_for(
            lambda: veille.health()["mentions"] == 150, timeout=180, what="all 150 mentions"
        )
        ids = veille.all_mention_ids()
        assert len(ids) == len(set(ids)) == 150
        assert veille.get("/mentions", q="numero")["total"] == 150
        assert veille.health()["inbox"].get("pending", 0) == 0
    finally:
        veille.stop()


def test_up_with_no_network_imports_demo_and_shows_unreachable_sources(tmp_path: Path) -> None:
    # The example workspace, with its feeds pointing at names that can never resolve.
    import yaml

    example = yaml.safe_load((REPO / "config" / "veille.yaml").read_text(encoding="utf-8"))
    for source in example["sources"]:
        source["url"] = f"https://{source['name']}.example.invalid/feed.xml"
    sources = example.pop("sources")
    config = write_workspace(tmp_path, sources=sources, demo_data=True)
    workspace = yaml.safe_load((config / "veille.yaml").read_text(encoding="utf-8"))
    workspace["brands"], workspace["competitors"] = example["brands"], example["competitors"]
    (config / "veille.yaml").write_text(yaml.safe_dump(workspace), encoding="utf-8")

    veille = VeilleProcess(config)
    veille.start()
    try:
        assert veille.health()["mentions"] > 200
        statuses = veille.wait_for(
            lambda: (
                (s := veille.get("/sources/status"))
                and all(x["state"] == "unreachable" for x in s)
                and s
            ),
            timeout=60,
            what="sources to be reported unreachable",
        )
        assert len(statuses) == 3
        assert all(s["last_error"].startswith("unreachable:") for s in statuses)
        french = veille.get("/mentions", q="lang:fr brand:Veloria")["total"]
        english = veille.get("/mentions", q="lang:en brand:Veloria")["total"]
        assert french > 50 and english > 20
        sov = veille.get("/stats/share-of-voice", brand="Veloria")
        assert {s["name"] for s in sov["shares"]} == {"Veloria", "Trekko", "Voltaire Cycles"}
    finally:
        assert veille.stop() == 0
