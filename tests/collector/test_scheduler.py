"""CollectorScheduler: interval jobs per source, no overlap, refresh, run_once.

Intervals are in minutes; the tests shorten a minute (`minute_seconds`) so that
several runs fit in a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from services.collector.scheduler import CollectorScheduler
from services.core.models import RunStatus, Source
from services.core.settings import CollectorSettings
from services.store.state.contract import CollectionRun
from tests.collector.conftest import make_source
from tests.collector.fake_state import FakeStateStore
from tests.httpserver import HTTPTestServer, RecordedRequest, Response


def rss_for(path: str) -> bytes:
    return (
        f'<rss version="2.0"><channel><item><link>https://example.org{path}</link>'
        "</item></channel></rss>"
    ).encode()


def feed(server: HTTPTestServer, path: str, *, delay: float = 0.0) -> str:
    server.add(path, body=rss_for(path), delay=delay)
    return server.url(path)


@contextmanager
def running(scheduler: CollectorScheduler) -> Iterator[CollectorScheduler]:
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown()


def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_sources_run_at_once_when_the_scheduler_starts(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    # Hour-long intervals (real minutes): a run within the wait can only be the first one,
    # at once, however long a busy machine takes to make it (a 0.8 s bound against a
    # 0.9 s interval failed 3 times in 6 under load).
    sources = [
        make_source(feed(server, "/a.xml"), name="a", interval_minutes=60),
        make_source(feed(server, "/b.xml"), name="b", interval_minutes=60),
        make_source(feed(server, "/off.xml"), name="off", enabled=False),
    ]
    scheduler = CollectorScheduler(state, settings, sources_provider=lambda: sources)

    with running(scheduler):
        assert scheduler.scheduled_sources() == ["a", "b"]
        wait_until(lambda: state.runs_of("a") and state.runs_of("b"), timeout=20.0)

    assert len(server.requests_for("/a.xml")) == len(server.requests_for("/b.xml")) == 1
    assert server.requests_for("/off.xml") == []


def test_sources_then_run_on_their_intervals(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    sources = [
        make_source(feed(server, "/fast.xml"), name="fast", interval_minutes=1),
        make_source(feed(server, "/slow.xml"), name="slow", interval_minutes=6),
        make_source(feed(server, "/off.xml"), name="off", enabled=False),
    ]
    # A minute lasts 0.3 s: "fast" runs every 0.3 s, "slow" every 1.8 s.
    scheduler = CollectorScheduler(
        state, settings, sources_provider=lambda: sources, minute_seconds=0.3
    )

    with running(scheduler):
        assert scheduler.scheduled_sources() == ["fast", "slow"]
        # Waits for runs rather than sleeping a fixed time, so a busy machine (where
        # APScheduler skips a run still in progress) only makes the test slower.
        wait_until(lambda: len(state.runs_of("slow")) >= 3, timeout=30.0)

    fast, slow = len(state.runs_of("fast")), len(state.runs_of("slow"))
    # Three slow runs span two slow intervals, twelve fast ones: expect about 13 fast runs,
    # and at least 5 while a collection takes under 0.9 s (APScheduler skips the fast runs
    # due while one is still in progress).
    assert fast >= slow + 2
    assert server.requests_for("/off.xml") == []
    assert all(run.status is not RunStatus.ERROR for run in state.runs)
    assert not scheduler.running


def test_a_slow_source_never_overlaps_itself(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    # Each collection takes 0.4 s; the interval is 0.1 s.
    source = make_source(feed(server, "/slow.xml", delay=0.4), interval_minutes=1)
    scheduler = CollectorScheduler(
        state, settings, sources_provider=lambda: [source], minute_seconds=0.1
    )

    with running(scheduler):
        wait_until(lambda: len(server.requests_for("/slow.xml")) >= 3, timeout=10.0)

    assert server.max_in_flight("/slow.xml") == 1


def test_refresh_adds_removes_and_reschedules_jobs(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    a = make_source(feed(server, "/a.xml"), name="a", interval_minutes=60)
    b = make_source(feed(server, "/b.xml"), name="b", interval_minutes=60)
    sources = [a]
    scheduler = CollectorScheduler(state, settings, sources_provider=lambda: list(sources))

    with running(scheduler):
        assert scheduler.scheduled_sources() == ["a"]

        sources.append(b)
        scheduler.refresh()
        assert scheduler.scheduled_sources() == ["a", "b"]
        wait_until(lambda: server.requests_for("/b.xml"))  # a new source runs at once

        wait_until(lambda: state.runs_of("a"))
        before = scheduler.next_run_time("a")
        sources[0] = a.model_copy(update={"interval_minutes": 5})
        scheduler.refresh()
        after = scheduler.next_run_time("a")
        assert before is not None and after is not None and after < before

        sources[0] = sources[0].model_copy(update={"enabled": False})
        scheduler.refresh()
        assert scheduler.scheduled_sources() == ["b"]

        sources.clear()
        scheduler.refresh()
        assert scheduler.scheduled_sources() == []
        assert scheduler.next_run_time("b") is None


def test_a_changed_url_is_used_by_the_next_run(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    sources = [make_source(feed(server, "/v1.xml"), name="moving", interval_minutes=1)]
    scheduler = CollectorScheduler(
        state, settings, sources_provider=lambda: list(sources), minute_seconds=0.1
    )

    with running(scheduler):
        wait_until(lambda: server.requests_for("/v1.xml"))
        sources[0] = make_source(feed(server, "/v2.xml"), name="moving", interval_minutes=1)
        scheduler.refresh()
        wait_until(lambda: server.requests_for("/v2.xml"))


def test_run_once_collects_every_enabled_source(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    sources = [
        make_source(feed(server, f"/{name}.xml"), name=name) for name in ("one", "two", "three")
    ]
    sources.append(make_source(feed(server, "/off.xml"), name="off", enabled=False))
    seen: list[tuple[str, RunStatus]] = []
    scheduler = CollectorScheduler(state, settings, sources_provider=lambda: sources)

    runs = scheduler.run_once(progress=lambda source, run: seen.append((source.name, run.status)))

    assert [run.source_name for run in runs] == ["one", "two", "three"]
    assert all(run.status is RunStatus.OK and run.items_new == 1 for run in runs)
    assert sorted(seen) == sorted((name, RunStatus.OK) for name in ("one", "two", "three"))
    assert server.requests_for("/off.xml") == []
    assert not scheduler.running


def test_run_once_with_names(
    server: HTTPTestServer, settings: CollectorSettings, state: FakeStateStore
) -> None:
    sources = [
        make_source(feed(server, "/one.xml"), name="one"),
        make_source(feed(server, "/off.xml"), name="off", enabled=False),
    ]
    scheduler = CollectorScheduler(state, settings, sources_provider=lambda: sources)

    runs = scheduler.run_once(["off"])  # naming a disabled source collects it

    assert [(r.source_name, r.status) for r in runs] == [("off", RunStatus.OK)]
    assert server.requests_for("/one.xml") == []
    with pytest.raises(KeyError, match="no source named nope"):
        scheduler.run_once(["nope"])


def test_run_once_respects_max_concurrent_sources(
    server: HTTPTestServer, state: FakeStateStore
) -> None:
    lock = threading.Lock()
    current = peak = 0

    def slow(request: RecordedRequest) -> Response:
        nonlocal current, peak
        with lock:
            current += 1
            peak = max(peak, current)
        time.sleep(0.2)
        with lock:
            current -= 1
        return Response(body=rss_for(request.path))

    names = [f"s{n}" for n in range(6)]
    for name in names:
        server.add(f"/{name}.xml", handler=slow)
    sources = [make_source(server.url(f"/{name}.xml"), name=name) for name in names]
    settings = CollectorSettings(allowed_networks=["127.0.0.0/8"], max_concurrent_sources=2)
    scheduler = CollectorScheduler(state, settings, sources_provider=lambda: sources)

    runs = scheduler.run_once()

    assert len(runs) == 6 and all(run.status is RunStatus.OK for run in runs)
    assert peak == 2


def test_a_crashing_collect_function_does_not_stop_the_scheduler(
    settings: CollectorSettings, state: FakeStateStore
) -> None:
    calls: list[str] = []

    def crash(source: Source, **kwargs: object) -> CollectionRun:
        calls.append(source.name)
        raise RuntimeError("boom")

    source = make_source("https://example.org/feed.xml", interval_minutes=1)
    scheduler = CollectorScheduler(
        state, settings, sources_provider=lambda: [source], collect=crash, minute_seconds=0.05
    )
    (run,) = scheduler.run_once()
    assert run.status is RunStatus.ERROR and run.error == "internal error: RuntimeError"
    with running(scheduler):
        wait_until(lambda: len(calls) >= 3)
