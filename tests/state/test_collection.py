"""Cursors, collection runs and source statuses; all-or-nothing recording."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.core.models import RunStatus
from services.store.state import runs
from services.store.state.contract import CollectionRun, NotFoundError
from services.store.state.sql import SqlStateStore
from tests.factories import BASE_TIME, make_item
from tests.state import make_run, make_source

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(state_store: SqlStateStore) -> SqlStateStore:
    """A store with one source, 'news'."""
    state_store.put_source(make_source("news"), origin="config")
    return state_store


def test_cursor_round_trip(store: SqlStateStore) -> None:
    assert store.get_cursor("news") == {}
    cursor = {"etag": 'W/"abc"', "last_modified": "Sat, 01 Nov 2026 12:00:00 GMT", "n": [1, 2]}
    store.record_collection(run=make_run(), items=[], cursor=cursor)
    assert store.get_cursor("news") == cursor
    store.record_collection(run=make_run(), items=[], cursor=None)  # None keeps it
    assert store.get_cursor("news") == cursor
    store.set_cursor("news", {"etag": "x"})
    assert store.get_cursor("news") == {"etag": "x"}
    with pytest.raises(ValueError, match="JSON"):
        store.set_cursor("news", {"when": BASE_TIME})


def test_record_collection_counts_what_is_new_and_stores_it_with_the_run(
    store: SqlStateStore,
) -> None:
    items = [make_item(source_name="news") for _ in range(3)]
    assert store.record_collection(run=make_run(items_found=3), items=items, cursor=None) == 3
    later = make_run(items_found=4, at=BASE_TIME + timedelta(minutes=15))
    assert store.record_collection(run=later, items=[*items, make_item()], cursor=None) == 1
    newest, oldest = store.recent_runs("news")
    assert (newest.items_found, newest.items_new) == (4, 1)
    assert (oldest.items_found, oldest.items_new) == (3, 3)
    assert store.inbox_counts()["pending"] == 4
    assert store.source_status("news").total_items == 4


def test_a_failure_mid_transaction_stores_nothing(
    store: SqlStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.record_collection(run=make_run(), items=[], cursor={"etag": "old"})

    def crash(*_: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runs, "insert_run", crash)  # after the enqueue and the cursor
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.record_collection(run=make_run(), items=[make_item()], cursor={"etag": "new"})
    monkeypatch.undo()
    assert store.inbox_counts() == {"pending": 0, "leased": 0, "done": 0, "failed": 0}
    assert store.get_cursor("news") == {"etag": "old"}
    assert len(store.recent_runs("news")) == 1


def test_recording_for_an_unknown_source_stores_nothing(store: SqlStateStore) -> None:
    with pytest.raises(NotFoundError, match="gone"):
        store.record_collection(run=make_run("gone"), items=[make_item()], cursor={"a": 1})
    with pytest.raises(NotFoundError, match="gone"):
        store.record_run(make_run("gone"))
    assert store.inbox_counts()["pending"] == 0
    assert store.get_cursor("gone") == {}


def test_naive_run_times_are_refused(store: SqlStateStore) -> None:
    run = make_run(at=BASE_TIME.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_run(run)


def test_recent_runs_newest_first_and_pruned(
    store: SqlStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "RUNS_KEPT", 5)
    for minute in range(8):
        store.record_run(make_run(at=BASE_TIME + timedelta(minutes=minute), items_new=1))
    recent = store.recent_runs("news", limit=100)
    assert [r.started_at for r in recent] == [
        BASE_TIME + timedelta(minutes=m) for m in range(7, 2, -1)
    ]
    assert len(store.recent_runs("news", limit=2)) == 2
    assert store.source_status("news").total_items == 8  # totals outlive pruning
    with pytest.raises(ValueError):
        store.recent_runs("news", limit=0)


def test_status_of_a_source_that_never_ran(store: SqlStateStore) -> None:
    status = store.source_status("news")
    assert status.state == "never_run"
    assert (status.name, status.kind, status.url, status.enabled) == (
        "news",
        "feed",
        "https://example.org/news.xml",
        True,
    )
    assert status.last_run_at is None
    assert (status.total_items, status.consecutive_errors) == (0, 0)


def test_status_follows_the_runs(store: SqlStateStore) -> None:
    t = [BASE_TIME + timedelta(minutes=15 * n) for n in range(6)]
    items = [make_item(source_name="news") for _ in range(2)]
    store.record_collection(run=make_run(at=t[0]), items=items, cursor=None)
    status = store.source_status("news")
    assert (status.state, status.last_items, status.total_items) == ("ok", 2, 2)
    assert status.last_run_at == status.last_success_at == t[0]

    store.record_run(make_run(status=RunStatus.ERROR, at=t[1], error="HTTP 500 from server"))
    store.record_run(make_run(status=RunStatus.ERROR, at=t[2], error="HTTP 500 from server"))
    status = store.source_status("news")
    assert status.state == "failing"
    assert (status.last_error, status.consecutive_errors) == ("HTTP 500 from server", 2)
    assert (status.last_run_at, status.last_success_at) == (t[2], t[0])
    assert status.last_status is RunStatus.ERROR

    error = "unreachable: could not resolve example.org"
    store.record_run(make_run(status=RunStatus.ERROR, at=t[3], error=error))
    status = store.source_status("news")
    # The state comes from the kind the collector gives, never from the message's words.
    assert (status.state, status.last_error_kind) == ("failing", "error")
    store.record_run(
        make_run(status=RunStatus.ERROR, at=t[3], error="it's fine", error_kind="unreachable")
    )
    status = store.source_status("news")
    assert (status.state, status.consecutive_errors, status.last_error_kind) == (
        "unreachable",
        4,
        "unreachable",
    )

    store.record_run(make_run(status=RunStatus.NOT_MODIFIED, at=t[4]))
    status = store.source_status("news")
    assert (status.state, status.consecutive_errors, status.last_error) == ("ok", 0, None)
    assert status.last_success_at == t[4]
    assert (status.last_items, status.total_items) == (0, 2)

    store.put_source(make_source("news", enabled=False), origin="config")
    assert store.source_status("news").state == "disabled"


def test_list_source_statuses(store: SqlStateStore) -> None:
    store.put_source(make_source("off", enabled=False), origin="api")
    store.put_source(make_source("down"), origin="api")
    store.record_run(
        make_run("down", status=RunStatus.ERROR, error="timed out", error_kind="timeout")
    )
    store.record_run(make_run("news"))
    states = {s.name: s.state for s in store.list_source_statuses()}
    assert states == {"down": "unreachable", "news": "ok", "off": "disabled"}
    with pytest.raises(NotFoundError):
        store.source_status("nope")


def test_a_collector_killed_mid_transaction_leaves_nothing(
    state_url: str, store: SqlStateStore
) -> None:
    store.record_collection(run=make_run(), items=[], cursor={"etag": "old"})
    snippet = """
import sys, time
from datetime import UTC, datetime
from services.core.models import RawItem, RunStatus
from services.store.state import runs
from services.store.state.contract import CollectionRun
from services.store.state.sql import SqlStateStore

def hang(conn, run):
    print("inside", flush=True)
    time.sleep(600)

runs.insert_run = hang  # stops after the enqueue and the cursor, before the commit
store = SqlStateStore(sys.argv[1])
now = datetime.now(UTC)
items = [RawItem(source_kind="feed", source_name="news", url=f"https://x.example/{n}")
         for n in range(50)]
run = CollectionRun("news", now, now, RunStatus.OK, 50, 0)
store.record_collection(run=run, items=items, cursor={"etag": "new"})
"""
    with subprocess.Popen(
        [sys.executable, "-c", snippet, state_url], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "inside"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert store.inbox_counts()["pending"] == 0
    assert store.get_cursor("news") == {"etag": "old"}
    assert len(store.recent_runs("news")) == 1
    # The dead writer's lock is gone: writing works at once.
    run = CollectionRun("news", BASE_TIME, BASE_TIME, RunStatus.OK, 1, 0)
    assert store.record_collection(run=run, items=[make_item()], cursor={"etag": "next"}) == 1
    assert store.get_cursor("news") == {"etag": "next"}


def test_crawl_figures_are_kept_with_the_run_and_shown_in_the_status(
    store: SqlStateStore,
) -> None:
    crawl = {"pages_fetched": 7, "errors": {"http_404": 2, "timeout": 1}}
    run = dataclasses.replace(make_run(items_found=3), stats=crawl)
    store.record_collection(run=run, items=[make_item(source_name="news")], cursor=None)
    (recorded,) = store.recent_runs("news")
    assert recorded.stats == crawl
    last = store.source_status("news").last_run
    assert last is not None
    assert (last.pages_fetched, last.items_found, last.items_stored) == (7, 3, 1)
    assert last.errors == {"http_404": 2, "timeout": 1}
    assert last.duration_seconds == 2.0

    # a feed run reports no crawl figures: no page count, no errors
    store.record_run(make_run(at=BASE_TIME + timedelta(minutes=15)))
    last = store.source_status("news").last_run
    assert last is not None and last.pages_fetched is None and last.errors == {}
