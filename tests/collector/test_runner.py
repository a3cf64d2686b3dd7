"""collect_source: fetch, parse and record one source, against a real HTTP server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.collector.runner import CollectorState, collect_source
from services.core.models import RunStatus
from services.core.settings import CollectorSettings
from services.store.state.contract import StateStore
from tests.collector.conftest import fixture_bytes, make_source
from tests.collector.fake_state import FakeStateStore
from tests.httpserver import HTTPTestServer

RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def rss(*links: str) -> bytes:
    items = "".join(
        f"<item><title>Item {link[-1]}</title><link>{link}</link>"
        f"<description>About {link}</description></item>"
        for link in links
    )
    return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def test_items_and_cursor_are_recorded_together(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    server.add(
        "/feed.xml", body=fixture_bytes("veille/rss2.xml"), headers={**RSS_HEADERS, "ETag": '"a"'}
    )
    source = make_source(server.url("/feed.xml"))
    now = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)

    run = collect_source(source, state=state, settings=settings, now=now)

    assert run.status is RunStatus.OK and run.error is None
    assert (run.items_found, run.items_new) == (3, 3)
    assert run.started_at == now and run.finished_at >= now
    assert state.collections == 1
    assert state.cursors["test-feed"] == {"etag": '"a"'}
    assert {i.source_name for i in state.items.values()} == {"test-feed"}
    assert {i.collected_at for i in state.items.values()} == {now}
    # Relative links resolve against the feed's own URL.
    assert server.url("/2024/03/relative") in {i.url for i in state.items.values()}


def test_unchanged_feed_costs_a_304_and_records_nothing(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    stamp = "Tue, 05 Mar 2024 08:30:00 GMT"
    server.add(
        "/feed.xml",
        body=rss("https://a.example/1"),
        headers={**RSS_HEADERS, "ETag": '"v1"', "Last-Modified": stamp},
    )
    source = make_source(server.url("/feed.xml"))

    first = collect_source(source, state=state, settings=settings)
    second = collect_source(source, state=state, settings=settings)

    assert first.status is RunStatus.OK
    assert second.status is RunStatus.NOT_MODIFIED and second.items_found == 0
    sent = server.requests_for("/feed.xml")[1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == stamp
    assert state.collections == 1  # the 304 went through record_run only
    assert state.runs[-1] == second
    assert state.cursors["test-feed"] == {"etag": '"v1"', "last_modified": stamp}


def test_polling_again_stores_no_duplicates(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    # No validators: the server sends the whole feed every time.
    server.add("/feed.xml", body=rss("https://a.example/1", "https://a.example/2"))
    source = make_source(server.url("/feed.xml"))

    first = collect_source(source, state=state, settings=settings)
    second = collect_source(source, state=state, settings=settings)
    server.add(
        "/feed.xml", body=rss("https://a.example/3", "https://a.example/1", "https://a.example/2")
    )
    third = collect_source(source, state=state, settings=settings)

    assert (first.items_found, first.items_new) == (2, 2)
    assert (second.items_found, second.items_new) == (2, 0)
    assert (third.items_found, third.items_new) == (3, 1)
    assert len(state.items) == 3
    assert state.cursors["test-feed"] == {}


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"status": 404}, "HTTP 404 Not Found"),
        (
            {"body": b"<html><body>Hello</body></html>", "headers": {"Content-Type": "text/html"}},
            "not a feed: the document is an HTML page",
        ),
        (
            {"body": b"{not json", "headers": {"Content-Type": "application/feed+json"}},
            "not a feed: invalid JSON",
        ),
    ],
)
def test_errors_are_recorded_and_the_cursor_kept(
    server: HTTPTestServer,
    settings: CollectorSettings,
    state: FakeStateStore,
    route: dict[str, Any],
    message: str,
) -> None:
    state.cursors["test-feed"] = {"etag": '"old"'}
    server.add("/feed.xml", **route)

    run = collect_source(make_source(server.url("/feed.xml")), state=state, settings=settings)

    assert run.status is RunStatus.ERROR
    assert run.error is not None and run.error.startswith(message)
    assert state.runs == [run] and state.collections == 0
    assert state.cursors["test-feed"] == {"etag": '"old"'}
    assert server.requests[0].headers["if-none-match"] == '"old"'


def test_unreachable_source_is_an_error_run(state: FakeStateStore) -> None:
    source = make_source("http://example.invalid/feed.xml")
    run = collect_source(source, state=state, settings=CollectorSettings())
    assert run.status is RunStatus.ERROR
    assert run.error == "unreachable: cannot resolve host example.invalid"


def test_refused_source_is_an_error_run(server: HTTPTestServer, state: FakeStateStore) -> None:
    server.add("/feed.xml", body=rss("https://a.example/1"))
    run = collect_source(
        make_source(server.url("/feed.xml")), state=state, settings=CollectorSettings()
    )
    assert run.error is not None and run.error.startswith("refused: 127.0.0.1 is a loopback")
    assert server.requests == []


class _BrokenStore(FakeStateStore):
    """The fake store, failing where a database could."""

    def __init__(self, *, fail_cursor: bool = False) -> None:
        super().__init__()
        self.fail_cursor = fail_cursor

    def get_cursor(self, source_name: str) -> dict[str, Any]:
        if self.fail_cursor:
            raise ConnectionError("database is gone")
        return super().get_cursor(source_name)

    def record_collection(self, **kwargs: Any) -> int:
        raise ConnectionError("database is locked")


@pytest.mark.parametrize("fail_cursor", [True, False])
def test_store_failures_never_raise(
    server: HTTPTestServer, settings: CollectorSettings, fail_cursor: bool
) -> None:
    server.add("/feed.xml", body=rss("https://a.example/1"))
    store = _BrokenStore(fail_cursor=fail_cursor)

    run = collect_source(make_source(server.url("/feed.xml")), state=store, settings=settings)

    assert run.status is RunStatus.ERROR
    assert run.error is not None and run.error.startswith("store error: ConnectionError")
    assert store.runs == [run]


def test_logs_are_structured_with_percent_arguments(
    server: HTTPTestServer,
    settings: CollectorSettings,
    state: FakeStateStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.add("/feed.xml", body=rss("https://a.example/1"))
    server.add("/bad.xml", status=503)
    caplog.set_level(logging.INFO, logger="veille.collector")

    collect_source(make_source(server.url("/feed.xml")), state=state, settings=settings)
    collect_source(make_source(server.url("/bad.xml"), name="bad"), state=state, settings=settings)

    ok, failed = [r for r in caplog.records if r.name == "veille.collector"]
    assert ok.msg == "collected %s: %d items, %d new in %.1f s"
    assert isinstance(ok.args, tuple) and ok.args[:3] == ("test-feed", 1, 1)
    assert ok.__dict__["source"] == "test-feed" and ok.__dict__["items_new"] == 1
    assert failed.levelno == logging.WARNING
    assert failed.getMessage() == "collecting bad failed: HTTP 503 Service Unavailable"
    assert failed.__dict__["status"] == "error"


def test_with_the_sql_state_store(
    server: HTTPTestServer, settings: CollectorSettings, tmp_path: Path
) -> None:
    sql = pytest.importorskip(
        "services.store.state.sql", reason="services/store/state/sql.py is not written yet"
    )
    store = sql.SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        source = make_source(server.url("/feed.xml"))
        store.put_source(source, origin="config")
        server.add(
            "/feed.xml",
            body=fixture_bytes("veille/atom.xml"),
            headers={"Content-Type": "application/atom+xml", "ETag": '"atom-1"'},
        )
        first = collect_source(source, state=store, settings=settings)
        second = collect_source(source, state=store, settings=settings)
        server.add("/feed.xml", body=fixture_bytes("veille/atom.xml"))  # no ETag: full body
        third = collect_source(source, state=store, settings=settings)

        assert (first.status, first.items_found, first.items_new) == (RunStatus.OK, 3, 3)
        assert second.status is RunStatus.NOT_MODIFIED
        assert (third.status, third.items_found, third.items_new) == (RunStatus.OK, 3, 0)
        assert store.get_cursor("test-feed") == {}
        assert store.inbox_counts()["pending"] == 3
        status = store.source_status("test-feed")
        assert status.last_status is RunStatus.OK and status.total_items == 3
        assert sorted(r.status for r in store.recent_runs("test-feed")) == sorted(
            [RunStatus.OK, RunStatus.NOT_MODIFIED, RunStatus.OK]
        )

        # The store derives 'unreachable' from the collector's message prefix.
        gone = make_source("http://example.invalid/feed.xml", name="gone")
        store.put_source(gone, origin="config")
        failed = collect_source(gone, state=store, settings=settings)
        assert failed.status is RunStatus.ERROR
        assert store.source_status("gone").state == "unreachable"
    finally:
        store.close()


def test_any_state_store_is_a_collector_state() -> None:
    # Checked by mypy: the collector's narrow protocol is a subset of the contract.
    def narrow(store: StateStore) -> CollectorState:
        return store

    assert callable(narrow)
