"""Incremental re-crawls: an active thread resumes at its last page, an old one is left
alone. A real XenForo thread page (katzen-forum.net) served from 127.0.0.1, crawled by the
scheduler in its worker process, with a real SQLite state store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.collector.scheduler import CollectorScheduler
from services.collector.web import recrawl
from services.core.models import RunStatus, Source
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from services.store.state.contract import CollectionRun
from tests.httpserver import HTTPTestServer
from tests.web.conftest import page_bytes

THREAD = "/threads/pepe.230143/"
HTML = {"Content-Type": "text/html; charset=utf-8"}
NOW = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)


def _page(first_digit: int, *, next_page: str | None = None, days_ago: int | None = None) -> bytes:
    """The real thread page, its post ids renumbered (6331411 -> 7331411 for digit 7: new
    posts), optionally dated `days_ago` and with a link to a next page."""
    body = page_bytes("trafilatura/katzen-forum.net-Pepe.html")
    for block in (b"6331", b"6332", b"6456", b"6457"):
        body = body.replace(block, str(first_digit).encode() + block[1:])
    if days_ago is not None:
        day = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%d")
        body = re.sub(rb'datetime="2019-08-\d\dT', f'datetime="{day}T'.encode(), body)
    if next_page:
        link = f'<a class="pageNav-jump pageNav-jump--next" href="{next_page}">Weiter</a>'
        body = body.replace(b"</body>", link.encode() + b"</body>")
    return body


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SqlStateStore]:
    store = SqlStateStore(f"sqlite:///{tmp_path}/state.db")
    yield store
    store.close()


def _scheduler(state: SqlStateStore, source: Source) -> CollectorScheduler:
    state.sync_workspace(sources=[source], brands=[], competitors=[])
    return CollectorScheduler(
        state,
        CollectorSettings(allowed_networks=["127.0.0.0/8"], timeout_seconds=10),
        sources_provider=state.list_sources,
    )


def _run(scheduler: CollectorScheduler) -> CollectionRun:
    (run,) = scheduler.run_once()
    assert run.status == RunStatus.OK, run.error
    return run


def test_an_active_thread_is_re_crawled_from_its_last_page(state: SqlStateStore) -> None:
    with HTTPTestServer() as server:
        server.add("/robots.txt", body=b"User-agent: *\nAllow: /\n")
        server.add(THREAD, body=_page(6, next_page="page-2"), headers=HTML)
        server.add(f"{THREAD}page-2", body=_page(7, days_ago=1), headers=HTML)
        url = server.url(THREAD)
        source = Source.model_validate({"name": "katzen", "kind": "web", "url": url})
        scheduler = _scheduler(state, source)

        first = _run(scheduler)
        assert first.items_new == 36  # both pages
        assert first.stats == {"pages_fetched": 2, "errors": {}, "threads_left_alone": 0}

        # new posts: page 2 now links to a page 3, written yesterday
        server.add(f"{THREAD}page-2", body=_page(7, next_page="page-3", days_ago=1))
        server.add(f"{THREAD}page-3", body=_page(8, days_ago=1), headers=HTML)
        second = _run(scheduler)
        assert second.items_new == 18  # page 3's posts only
        assert second.stats is not None and second.stats["pages_fetched"] == 2
        assert len(server.requests_for(THREAD)) == 1  # page 1 was not read again
        assert len(server.requests_for(f"{THREAD}page-2")) == 2
        assert len(server.requests_for(f"{THREAD}page-3")) == 1

        threads = state.get_cursor("katzen")["threads"]
        assert threads[url]["last_page_url"] == server.url(f"{THREAD}page-3")

        status = state.source_status("katzen")
        assert status.last_run is not None
        assert (status.last_run.pages_fetched, status.last_run.items_stored) == (2, 18)


def test_an_old_thread_is_left_alone(state: SqlStateStore) -> None:
    with HTTPTestServer() as server:
        server.add("/robots.txt", body=b"User-agent: *\nAllow: /\n")
        server.add(THREAD, body=_page(6), headers=HTML)  # last post: August 2019
        url = server.url(THREAD)
        source = Source.model_validate(
            {"name": "katzen", "kind": "web", "url": url, "options": {"recrawl_max_age_days": 60}}
        )
        scheduler = _scheduler(state, source)
        assert _run(scheduler).items_new == 18
        again = _run(scheduler)
        assert again.items_new == 0
        assert again.stats == {"pages_fetched": 0, "errors": {}, "threads_left_alone": 1}
        assert len(server.requests_for(THREAD)) == 1


def test_a_bad_max_age_is_a_clear_run_error(state: SqlStateStore) -> None:
    source = Source.model_validate(
        {
            "name": "bad",
            "kind": "web",
            "url": "http://127.0.0.1:9/t/1",
            "options": {"recrawl_max_age_days": "soon"},
        }
    )
    (run,) = _scheduler(state, source).run_once()
    assert run.status == RunStatus.ERROR
    assert run.error == "recrawl_max_age_days must be a positive number of days, not 'soon'"


def test_start_url_rules() -> None:
    threads = {
        "u/1": {"last_page_url": "u/1/page-4", "last_post_at": "2026-11-20T08:00:00+00:00"},
        "u/2": {"last_page_url": "u/2/page-9", "last_post_at": "2026-09-01T08:00:00+00:00"},
        "u/3": {"last_page_url": "u/3/page-2"},  # no dates known: revisited
    }
    month = timedelta(days=30)
    assert recrawl.start_url(threads, "u/1", now=NOW, max_age=month) == "u/1/page-4"
    assert recrawl.start_url(threads, "u/2", now=NOW, max_age=month) is None
    assert recrawl.start_url(threads, "u/3", now=NOW, max_age=month) == "u/3/page-2"
    assert recrawl.start_url(threads, "u/new", now=NOW, max_age=month) == "u/new"


def test_record_page_keeps_the_newest_post_date() -> None:
    threads: recrawl.ThreadStates = {}
    older, newer = NOW - timedelta(days=3), NOW - timedelta(days=1)
    recrawl.record_page(threads, "t", page_url="t/p1", post_dates=[older, newer], now=NOW)
    recrawl.record_page(threads, "t", page_url="t/p2", post_dates=[None, older], now=NOW)
    assert threads["t"]["last_page_url"] == "t/p2"
    assert threads["t"]["last_post_at"] == newer.isoformat()


def test_max_age_option() -> None:
    assert recrawl.max_age_of({}) == timedelta(days=30)
    assert recrawl.max_age_of({"recrawl_max_age_days": 7}) == timedelta(days=7)
    for bad in (0, -1, True, "7"):
        with pytest.raises(ValueError, match="positive number of days"):
            recrawl.max_age_of({"recrawl_max_age_days": bad})


def test_a_crawl_that_reads_no_page_is_an_unreachable_run(state: SqlStateStore) -> None:
    with HTTPTestServer() as server:
        dead = server.url(THREAD)  # nothing listens there once the server stops
    source = Source.model_validate({"name": "gone", "kind": "web", "url": dead})
    (run,) = _scheduler(state, source).run_once()
    assert run.status == RunStatus.ERROR
    assert run.error == "unreachable: no page fetched (network x1)"
    status = state.source_status("gone")
    assert status.state == "unreachable"
    assert status.last_run is not None and status.last_run.errors == {"network": 1}
