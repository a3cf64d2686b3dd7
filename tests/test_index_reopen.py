"""A mention index that cannot be opened is not asked again for a few seconds: /health and
the loops then fail at once instead of each waiting out the client's retries (about 5 s),
which would overrun a load balancer's probe while Elasticsearch is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import INDEX_RETRY_PAUSE, ServiceContext
from services.store.contracts import IndexUnavailable
from tests.httpserver import HTTPTestServer, Response


@pytest.fixture
def overloaded() -> Iterator[HTTPTestServer]:
    """A real HTTP server answering every request 503, as a cluster that is not ready."""
    with HTTPTestServer() as server:
        server.fallback(lambda request: Response(503, body=b'{"error": "not ready"}'))
        yield server


def test_a_failed_opening_is_remembered_then_tried_again(
    overloaded: HTTPTestServer, tmp_path: Path
) -> None:
    settings = build_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "demo_data": False,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/data/veille.db",
                "index_url": overloaded.base_url,
            },
        }
    )
    context = ServiceContext(settings, Workspace())
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
