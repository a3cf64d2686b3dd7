"""A mention index that cannot be opened is not asked again for a few seconds: /health and
the loops then fail at once instead of each waiting out the client's retries (about 5 s),
which would overrun a load balancer's probe while Elasticsearch is down. Health's own look
at the server is one short request, never retried, so no probe waits them out; the index
keeps its retries for the work that needs it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import INDEX_RETRY_PAUSE, ServiceContext
from services.runtime.app.health import store_health
from services.store.contracts import IndexUnavailable
from services.store.elastic.bulk import Backoff
from tests.httpserver import HTTPTestServer, Response
from tests.ports import refusing_port


@pytest.fixture
def overloaded() -> Iterator[HTTPTestServer]:
    """A real HTTP server answering every request 503, as a cluster that is not ready."""
    with HTTPTestServer() as server:
        server.fallback(lambda request: Response(503, body=b'{"error": "not ready"}'))
        yield server


def _context(tmp_path: Path, index_url: str) -> ServiceContext:
    settings = build_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "demo_data": False,
            "store": {"state_url": f"sqlite:///{tmp_path}/data/veille.db", "index_url": index_url},
        }
    )
    return ServiceContext(settings, Workspace())


def test_a_failed_opening_is_remembered_then_tried_again(
    overloaded: HTTPTestServer, tmp_path: Path
) -> None:
    context = _context(tmp_path, overloaded.base_url)
    now = [1000.0]
    context.clock = lambda: now[0]
    try:
        with pytest.raises(IndexUnavailable):
            context.index  # noqa: B018 (opening is the point)
        asked = len(overloaded.requests)
        assert asked >= 1

        now[0] += INDEX_RETRY_PAUSE / 2
        with pytest.raises(IndexUnavailable):
            context.index  # noqa: B018
        assert len(overloaded.requests) == asked  # answered from memory: no request

        now[0] += INDEX_RETRY_PAUSE
        with pytest.raises(IndexUnavailable):
            context.index  # noqa: B018
        assert len(overloaded.requests) > asked  # the pause is over: tried again
    finally:
        context.close()


def test_health_asks_a_refusing_port_once_and_leaves_the_index_alone(tmp_path: Path) -> None:
    with refusing_port() as port:
        context = _context(tmp_path, f"http://127.0.0.1:{port}")
        try:
            for _ in range(3):  # every probe, not only those within a pause
                healthy, details = store_health(context, explain=False)
                assert not healthy
                assert details["index"] == "error: IndexUnavailable"
                assert "inbox" in details  # the state store is still reported
            # The index was not opened, so its retries and their pause were not spent here.
            assert "index" not in context.__dict__ and context._index_failure is None
            _, explained = store_health(context)
            assert f"cannot reach Elasticsearch at http://127.0.0.1:{port}" in explained["index"]
            assert "ConnectionError" in explained["index"]
        finally:
            context.close()


def test_health_asks_once_and_the_index_keeps_its_retries(
    overloaded: HTTPTestServer, tmp_path: Path
) -> None:
    context = _context(tmp_path, overloaded.base_url)
    try:
        healthy, details = store_health(context)
        assert not healthy and "not ready: HTTP 503" in details["index"]
        assert len(overloaded.requests) == 1  # one request, not retried
        assert overloaded.requests[0].headers.get("authorization") is None
        with pytest.raises(IndexUnavailable):
            context.index  # noqa: B018 (the work that needs the index retries as before)
        assert len(overloaded.requests) >= 1 + Backoff().attempts  # each attempt asked
    finally:
        context.close()


def test_health_gives_a_silent_server_a_short_time(tmp_path: Path) -> None:
    # Connections are taken (the listening socket's backlog) but never answered.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        context = _context(tmp_path, f"http://127.0.0.1:{silent.getsockname()[1]}")
        try:
            healthy, details = store_health(context)
            assert not healthy and "ConnectionTimeout" in details["index"]
            assert "index" not in context.__dict__ and context._index_failure is None
        finally:
            context.close()
