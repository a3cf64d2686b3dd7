"""The collector against hostile servers on 127.0.0.1, with a real SQLite state store.

A server dripping its headers one byte at a time, hostile redirects, a huge feed, dates
from the future, a lying charset. Each ends in a bounded time with a named error kind
or a note in the source's status, never an "internal error", and never at the
expense of the other sources.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.collector.fetching import FetchTimeoutError, fetch
from services.collector.runner import collect_source
from services.collector.scheduler import CollectorScheduler
from services.core.models import ErrorKind, RunStatus, Source
from services.core.settings import CollectorSettings
from services.net.deadline import FetchCancelled, cancel_scope
from services.store.state.sql import SqlStateStore
from tests.hostile_server import DripServer
from tests.httpserver import HTTPTestServer

DATE = "%a, %d %b %Y %H:%M:%S GMT"


def rss(entries: Sequence[tuple[str, str, datetime | None]], *, declared: str = "utf-8") -> str:
    """An RSS document of (title, link, date) entries."""
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><description>{title}</description>"
        + (f"<pubDate>{date.strftime(DATE)}</pubDate>" if date else "")
        + "</item>"
        for title, link, date in entries
    )
    return (
        f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel>'
        f"<title>t</title><link>http://example.org/</link>{items}</channel></rss>"
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStateStore]:
    with SqlStateStore(f"sqlite:///{tmp_path}/veille.db") as state:
        yield state


def _settings(**changes: object) -> CollectorSettings:
    return CollectorSettings(
        allowed_networks=["127.0.0.0/8"], user_agent="VeilleTest/1.0", **changes
    )


def _add(store: SqlStateStore, name: str, url: str) -> Source:
    source = Source(name=name, url=url)
    store.put_source(source, origin="api")
    return source


# -- one deadline per fetch -------------------------------------------------------------


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_dripping_server_is_cut_off_at_the_deadline(part: str) -> None:
    with DripServer(part=part, interval=0.05) as server:  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(FetchTimeoutError) as raised:
            fetch(server.url("/feed.xml"), settings=_settings(timeout_seconds=1.0))
        elapsed = time.monotonic() - started
    assert raised.value.kind == "timeout"
    assert str(raised.value) == "unreachable: timed out after 1 s"
    # The server drips forever: ending at all is the deadline's doing (the upper bound
    # leaves room for a loaded machine; a timing target is no test).
    assert 0.9 <= elapsed < 10, f"took {elapsed:.2f} s for a 1 s deadline"


def test_a_fetch_in_a_stopping_collector_ends_long_before_its_deadline() -> None:
    stopping = threading.Event()
    with DripServer(interval=0.05) as server:
        threading.Timer(0.5, stopping.set).start()
        started = time.monotonic()
        with cancel_scope(stopping), pytest.raises(FetchCancelled):
            fetch(server.url("/feed.xml"), settings=_settings(timeout_seconds=60))
        elapsed = time.monotonic() - started
    # Half a second on an idle machine (one slice); the 60 s deadline is far off.
    assert elapsed < 10, f"cancelled after {elapsed:.2f} s"


def test_slow_sources_never_starve_the_others_and_are_reported(
    store: SqlStateStore, server: HTTPTestServer
) -> None:
    server.add("/good.xml", body=rss([("Veloria", "http://example.org/good", None)]).encode())
    with DripServer(interval=0.05) as drip:
        # As many slow sources as collector threads: the case that stopped all collection.
        for n in range(4):
            _add(store, f"slow-{n}", drip.url(f"/slow{n}.xml"))
        for n in range(2):
            _add(store, f"good-{n}", server.url("/good.xml"))
        # The good sources must answer within it on a loaded machine too: 2 s, not 1.
        settings = _settings(timeout_seconds=2.0, max_concurrent_sources=4)
        scheduler = CollectorScheduler(store, settings, sources_provider=store.list_sources)
        started = time.monotonic()
        runs = {run.source_name: run for run in scheduler.run_once()}
        elapsed = time.monotonic() - started
    # Two rounds of the deadline at most: the slow ones, then the good ones.
    assert elapsed < 2 * 2.0 + 6.0, f"took {elapsed:.2f} s"  # room for a loaded machine
    assert {runs[f"good-{n}"].status for n in range(2)} == {RunStatus.OK}
    for n in range(4):
        status = store.source_status(f"slow-{n}")
        assert (status.state, status.last_error_kind) == ("unreachable", ErrorKind.TIMEOUT)


def test_shutdown_cancels_a_dripping_fetch_at_once_and_records_nothing(
    store: SqlStateStore,
) -> None:
    with DripServer(interval=0.05) as drip:
        _add(store, "slow", drip.url("/slow.xml"))
        scheduler = CollectorScheduler(
            store, _settings(timeout_seconds=60), sources_provider=store.list_sources
        )
        scheduler.start()
        deadline = time.monotonic() + 10
        while drip.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert drip.connections, "the collector never fetched"
        started = time.monotonic()
        scheduler.shutdown(wait=True)
        elapsed = time.monotonic() - started
    assert elapsed < 10, f"shutdown took {elapsed:.2f} s with a 60 s fetch in flight"
    assert store.source_status("slow").state == "never_run"  # stopping says nothing of it


# -- hostile redirects -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("javascript:alert(1)", "javascript URLs are not collected"),
        ("mailto:a@example.org", "mailto URLs are not collected"),
        ("http://xn--/feed.xml", "redirect to an invalid URL"),
        ("http://xn--a.example/feed.xml", "redirect to an invalid URL"),
        ("http://[::1/feed.xml", "redirect to an invalid URL"),
    ],
)
def test_a_hostile_redirect_is_a_refusal_not_an_internal_error(
    store: SqlStateStore, server: HTTPTestServer, location: str, expected: str
) -> None:
    server.redirect("/feed.xml", location)
    source = _add(store, "redirected", server.url("/feed.xml"))
    run = collect_source(source, state=store, settings=_settings(timeout_seconds=3))
    assert run.status is RunStatus.ERROR and run.error is not None
    assert expected in run.error and "internal error" not in run.error
    status = store.source_status("redirected")
    assert (status.state, status.last_error_kind) == ("failing", ErrorKind.REFUSED)


# -- a huge feed, fairly served --------------------------------------------------------


def test_a_huge_feed_is_capped_per_run_and_cannot_hold_up_other_sources(
    store: SqlStateStore, server: HTTPTestServer
) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    huge = [
        (f"item {n}", f"http://example.org/huge/{n}", start + timedelta(minutes=n))
        for n in range(2_000)
    ]
    server.add("/huge.xml", body=rss(huge).encode())
    server.add(
        "/small.xml",
        body=rss([(f"s{n}", f"http://example.org/small/{n}", start) for n in range(3)]).encode(),
    )
    settings = _settings(timeout_seconds=20, max_items_per_run=100)

    big = collect_source(
        _add(store, "huge", server.url("/huge.xml")), state=store, settings=settings
    )
    small = collect_source(
        _add(store, "small", server.url("/small.xml")), state=store, settings=settings
    )

    assert (big.items_found, big.items_new, small.items_new) == (2_000, 100, 3)
    last_run = store.source_status("huge").last_run
    assert last_run is not None
    assert last_run.notes == [
        "1900 older item(s) left out: a run keeps at most 100 (collector.max_items_per_run)"
    ]
    # Fair service: the small source's items come within its first turns, not after 100.
    claimed = store.claim_items(limit=6)
    assert [c.item.source_name for c in claimed].count("small") == 3
    kept_titles = {c.item.title for c in claimed if c.item.source_name == "huge"}
    assert kept_titles <= {f"item {n}" for n in range(1_900, 2_000)}  # the newest


# -- dates from the future, a lying charset ---------------------------------------------


def test_dates_from_the_future_are_dated_at_collection_and_said_in_the_status(
    store: SqlStateStore, server: HTTPTestServer
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    entries = [
        ("from 2100", "http://example.org/f1", datetime(2100, 1, 1, tzinfo=UTC)),
        ("a little ahead", "http://example.org/f2", now + timedelta(minutes=5)),
        ("past", "http://example.org/f3", now - timedelta(days=1)),
    ]
    server.add("/feed.xml", body=rss(entries).encode())
    source = _add(store, "future", server.url("/feed.xml"))
    run = collect_source(source, state=store, settings=_settings(future_skew_minutes=15))

    dates = {c.item.title: c.item.published_at for c in store.claim_items(limit=10)}
    assert dates["from 2100"] is not None and dates["from 2100"] <= run.finished_at
    assert dates["from 2100"] >= run.started_at - timedelta(seconds=1)
    assert dates["a little ahead"] == now + timedelta(minutes=5)  # within the skew: kept
    assert dates["past"] == now - timedelta(days=1)
    last_run = store.source_status("future").last_run
    assert last_run is not None and len(last_run.notes) == 1
    assert last_run.notes[0].startswith("1 item(s) dated in the future (up to 2100-01-01 00:00")


@pytest.mark.parametrize(
    ("declared", "encoding", "header", "expected_note"),
    [
        (
            "iso-8859-1",
            "utf-8",
            "application/rss+xml",
            "declares iso-8859-1 but its bytes are UTF-8",
        ),
        (
            "utf-8",
            "utf-8",
            "application/rss+xml; charset=ISO-8859-1",
            "declares ISO-8859-1 but its bytes are UTF-8",
        ),
        ("utf-8", "cp1252", "application/rss+xml", "declares utf-8 but its bytes are cp1252"),
    ],
)
def test_a_wrong_declared_charset_is_read_right_and_noted(
    store: SqlStateStore,
    server: HTTPTestServer,
    declared: str,
    encoding: str,
    header: str,
    expected_note: str,
) -> None:
    title = "Très déçu par la qualité, ça coûte cher à l'été"
    body = rss([(title, "http://example.org/c", None)], declared=declared).encode(encoding)
    server.add("/feed.xml", body=body, headers={"Content-Type": header})
    source = _add(store, "charset", server.url("/feed.xml"))
    collect_source(source, state=store, settings=_settings())

    [claimed] = store.claim_items(limit=10)
    assert claimed.item.title == title
    last_run = store.source_status("charset").last_run
    assert last_run is not None and any(expected_note in note for note in last_run.notes)


def test_entries_left_out_of_a_feed_are_said_in_the_status(
    store: SqlStateStore, server: HTTPTestServer
) -> None:
    # One entry with neither link nor id (a real shape: feedparser's item_description.xml):
    # the run is ok with nothing found, and the status must say why.
    body = rss([]).replace(
        "</channel>", "<item><description>No link</description></item></channel>"
    )
    server.add("/feed.xml", body=body.encode())
    run = collect_source(
        _add(store, "linkless", server.url("/feed.xml")), state=store, settings=_settings()
    )

    assert run.status is RunStatus.OK and run.items_found == 0
    last_run = store.source_status("linkless").last_run
    assert last_run is not None and last_run.notes == ["1 entry skipped (no link or id)"]


def test_a_true_declared_charset_gets_no_note(store: SqlStateStore, server: HTTPTestServer) -> None:
    title = "Très déçu par la qualité"
    body = rss([(title, "http://example.org/c", None)], declared="iso-8859-1").encode("latin-1")
    server.add("/feed.xml", body=body)
    collect_source(_add(store, "latin", server.url("/feed.xml")), state=store, settings=_settings())
    [claimed] = store.claim_items(limit=10)
    last_run = store.source_status("latin").last_run
    assert claimed.item.title == title and last_run is not None and last_run.notes == []


def test_a_slow_resolver_counts_against_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in for a slow authoritative DNS server (none can run here): getaddrinfo
    # that answers after 30 s. The fetch must give up at its 1 s deadline.
    real = socket.getaddrinfo
    released = threading.Event()

    def slow_getaddrinfo(host: str, *args: object, **kwargs: object) -> object:
        if host == "slow-dns.example":
            released.wait(30)
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    started = time.monotonic()
    try:
        with pytest.raises(FetchTimeoutError) as raised:
            fetch("http://slow-dns.example/feed.xml", settings=_settings(timeout_seconds=1.0))
    finally:
        released.set()
    # The fetch's own budget, not what was left of it when the lookup began.
    assert str(raised.value) == "unreachable: timed out after 1 s (resolving slow-dns.example)"
    assert time.monotonic() - started < 10  # not the 30 s answer (room for a loaded machine)


def test_shutdown_stops_a_web_crawl_held_by_a_dripping_server(store: SqlStateStore) -> None:
    with DripServer(interval=0.05) as drip:
        store.put_source(
            Source(name="site", kind="web", url=drip.url("/thread/1")),
            origin="api",
        )
        scheduler = CollectorScheduler(
            store, _settings(timeout_seconds=60), sources_provider=store.list_sources
        )
        scheduler.start()
        deadline = time.monotonic() + 60  # the crawl's process starts Scrapy first
        while drip.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert drip.connections, "the crawler never fetched"
        started = time.monotonic()
        scheduler.shutdown(wait=True)
        elapsed = time.monotonic() - started
    assert elapsed < 3, f"shutdown took {elapsed:.2f} s with a crawl in flight"
    assert store.source_status("site").state == "never_run"
