"""`web` sources run from the scheduler: crawled in a worker process, incremental."""

from __future__ import annotations

from pathlib import Path

from services.core.models import RunStatus, Source
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer
from tests.web.conftest import loopback_scheduler, serve_page


def test_a_forum_thread_is_crawled_once_then_incrementally(tmp_path: Path) -> None:
    state = SqlStateStore(f"sqlite:///{tmp_path}/state.db")
    try:
        with HTTPTestServer() as server:
            server.add("/robots.txt", body=b"User-agent: *\nAllow: /\n")
            url = serve_page(
                server, "/threads/pepe.230143/", "trafilatura/katzen-forum.net-Pepe.html"
            )
            source = Source(name="katzen", kind="web", url=url, max_pages=1)
            state.sync_workspace(sources=[source], brands=[], competitors=[])
            scheduler = loopback_scheduler(state)
            (first,) = scheduler.run_once()
            (second,) = scheduler.run_once()
        assert first.status == RunStatus.OK, first.error
        assert first.items_new == 18  # every post of the thread
        assert second.status == RunStatus.OK and second.items_new == 0
        claimed = state.claim_items(limit=50)
        assert {c.item.thread.item_kind for c in claimed if c.item.thread} == {"post", "reply"}
        assert state.source_status("katzen").total_items == 18
    finally:
        state.close()
