"""Bad input gets a clear message and never loses data already held.

A malformed feed, a 50 MB feed, a feed redirecting to 127.0.0.1, an invalid query
and an invalid config, each against a real SQLite state store and embedded index
that already hold data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.collector.runner import collect_source
from services.core.models import RunStatus, Source
from services.core.settings import CollectorSettings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionFilter
from tests.cli_runner import veille
from tests.e2e.service import rss
from tests.factories import local_settings, make_item, make_mention
from tests.httpserver import HTTPTestServer

GOOD_FEED = rss([{"title": "Veloria", "link": "http://127.0.0.2/a", "text": "Veloria ok"}])


@pytest.fixture
def server() -> Iterator[HTTPTestServer]:
    # 127.0.0.2 is loopback too, but a different address from 127.0.0.1: allowing
    # only it shows a redirect to 127.0.0.1 is checked on its own.
    with HTTPTestServer(host="127.0.0.2") as http_server:
        yield http_server


@pytest.fixture
def ctx(tmp_path: Path, server: HTTPTestServer) -> Iterator[ServiceContext]:
    settings = local_settings(
        tmp_path, collector={"allowed_networks": ["127.0.0.2/32"], "timeout_seconds": 5}
    )
    source = Source(name="feed", url=server.url("/feed.xml"))
    context = ServiceContext(settings, Workspace(sources=[source]))
    context.sync_workspace()
    yield context
    context.close()


def _snapshot(ctx: ServiceContext) -> tuple[int, dict[str, int], dict[str, object]]:
    return (
        ctx.index.count(MentionFilter()),
        ctx.state.inbox_counts(),
        ctx.state.get_cursor("feed"),
    )


@pytest.fixture
def held(
    ctx: ServiceContext, server: HTTPTestServer
) -> tuple[int, dict[str, int], dict[str, object]]:
    """Data already stored: mentions in the index, items in the inbox, a feed cursor."""
    ctx.index.upsert([make_mention(id=f"kept{i}") for i in range(5)])
    ctx.state.enqueue_items([make_item() for _ in range(3)])
    server.add("/feed.xml", body=GOOD_FEED, headers={"ETag": '"v1"'})
    first = collect_source(ctx.state.get_source("feed"), state=ctx.state, settings=_collector(ctx))
    assert first.status == RunStatus.OK
    snapshot = _snapshot(ctx)
    assert snapshot[2], "the good run should have saved a cursor"
    return snapshot


def _collector(ctx: ServiceContext) -> CollectorSettings:
    return ctx.settings.collector


def _collect_bad(ctx: ServiceContext) -> str:
    run = collect_source(ctx.state.get_source("feed"), state=ctx.state, settings=_collector(ctx))
    assert run.status == RunStatus.ERROR
    assert run.error
    assert "Traceback" not in run.error
    return run.error


def test_malformed_feed(ctx: ServiceContext, server: HTTPTestServer, held: object) -> None:
    server.add("/feed.xml", body=b"<html><body>Not a feed at all</body></html>")
    assert _collect_bad(ctx).startswith("not a feed")
    assert _snapshot(ctx) == held
    assert ctx.state.source_status("feed").state == "failing"


def test_50_mb_feed(ctx: ServiceContext, server: HTTPTestServer, held: object) -> None:
    chunk = b"<item><title>x</title></item>" * 2000
    server.add("/feed.xml", body=lambda: (chunk for _ in range(50 * 1024 * 1024 // len(chunk))))
    error = _collect_bad(ctx)
    assert error.startswith("too large")
    assert "10.0 MB" in error
    assert _snapshot(ctx) == held


def test_feed_redirecting_to_loopback(
    ctx: ServiceContext, server: HTTPTestServer, held: object
) -> None:
    server.redirect("/feed.xml", "http://127.0.0.1:9/feed.xml")
    error = _collect_bad(ctx)
    assert error.startswith("refused")
    assert "127.0.0.1" in error and "allowed_networks" in error
    assert _snapshot(ctx) == held


def test_invalid_query(ctx: ServiceContext, held: object) -> None:
    key = ctx.state.create_api_key("t")
    with TestClient(create_app(ctx), headers={"X-API-Key": key}) as client:
        response = client.get("/api/v1/mentions", params={"q": 'brand:"Veloria'})
    assert response.status_code == 400
    assert response.json()["detail"] == "this quote is never closed (at character 7)"
    assert _snapshot(ctx) == held


def test_invalid_config_refuses_to_start_and_keeps_data(
    tmp_path: Path, ctx: ServiceContext, held: object
) -> None:
    config = tmp_path / "broken"
    config.mkdir()
    (config / "veille.yaml").write_text(
        "settings:\n"
        f"  store:\n    state_url: sqlite:///{tmp_path}/veille.db\n"
        f"    index_url: embedded:{tmp_path}/index\n"
        "sources:\n  - name: x\n    url: not-a-url\n",
        encoding="utf-8",
    )
    for command in (["config", "check"], ["up"]):
        result = veille(*command, "--config", str(config), timeout=60)
        assert result.returncode == 2
        assert f"{config}/veille.yaml:7: sources[0].url:" in result.stderr
        assert "Traceback" not in result.stderr
    assert _snapshot(ctx) == held
