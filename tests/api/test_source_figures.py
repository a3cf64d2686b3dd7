"""Source status figures that hold (newcomer test): a run that found and queued 3 items
of which the analyzer kept 2 (`keep: matching` dropped one naming no brand) says
3 found, 3 queued, 2 stored, in the API and in `veille sources status`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.core.models import RunStatus
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionFilter
from services.store.state.contract import CollectionRun
from tests.factories import BASE_TIME, make_mention

FEED = {"name": "blog-velo", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml"}


def _collected(ctx: ServiceContext) -> None:
    """One run queued 3 items; the analyzer stored 2 of them."""
    ctx.state.record_run(
        CollectionRun(
            source_name="blog-velo",
            started_at=BASE_TIME,
            finished_at=BASE_TIME + timedelta(seconds=2),
            status=RunStatus.OK,
            items_found=3,
            items_new=3,
        )
    )
    ctx.index.upsert(
        [make_mention(id=f"b{n}", source_name="blog-velo") for n in (1, 2)]
        + [make_mention(id="other", source_name="another-feed")]
    )


def test_status_says_what_was_queued_and_what_was_stored(
    ctx: ServiceContext, client: TestClient
) -> None:
    ctx.settings.collector.allowed_networks = ["127.0.0.0/8"]  # FEED is on loopback
    assert client.post("/api/v1/sources", json=FEED).status_code == 201
    _collected(ctx)
    [status] = client.get("/api/v1/sources/status").json()
    assert (status["last_run"]["items_found"], status["last_run"]["items_stored"]) == (3, 3)
    assert (status["total_items"], status["mentions_stored"]) == (3, 2)
    one = client.get("/api/v1/sources/blog-velo/status").json()
    assert one["mentions_stored"] == 2


@pytest.mark.slow  # `veille` subprocesses
def test_cli_status_shows_queued_and_stored(tmp_path: Path) -> None:
    from services.core.settings import build_settings
    from services.runtime.app.context import ServiceContext
    from tests.cli_runner import veille
    from tests.e2e.service import write_workspace

    config = write_workspace(tmp_path, sources=[FEED])
    first = veille("sources", "status", "--config", str(config))  # syncs the YAML's source
    assert first.returncode == 0, first.stderr
    data = tmp_path / "data"
    settings = build_settings(
        {
            "data_dir": str(data),
            "store": {
                "state_url": f"sqlite:///{data}/veille.db",
                "index_url": f"embedded:{data}/index",
            },
        }
    )
    from tests.api.conftest import WORKSPACE

    context = ServiceContext(settings, WORKSPACE)
    try:
        _collected(context)
        assert context.index.count(MentionFilter()) == 3
    finally:
        context.close()
    result = veille("sources", "status", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "3 found, 3 queued" in result.stdout and "3 stored" not in result.stdout
    row = next(line for line in result.stdout.splitlines() if "blog-velo" in line)
    assert row.split("│")[4].strip() == "3" and row.split("│")[5].strip() == "2", row


def test_health_counts_the_collector_of_veille_up_and_its_sources(
    ctx: ServiceContext, client: TestClient
) -> None:
    from services.runtime.workers.workspace_loops import start_collector

    ctx.settings.collector.allowed_networks = ["127.0.0.0/8"]  # FEED is on loopback
    for n in range(3):
        feed = {**FEED, "name": f"feed-{n}", "interval_minutes": 60}
        assert client.post("/api/v1/sources", json=feed).status_code == 201
    before = client.get("/api/v1/health").json()
    assert (before["collectors"], before["scheduled_sources"]) == (0, 0)
    stop = start_collector(ctx)  # as `veille up` does for each workspace
    try:
        during = client.get("/api/v1/health").json()
        assert (during["collectors"], during["scheduled_sources"]) == (1, 3)
    finally:
        stop()
    after = client.get("/api/v1/health").json()
    assert (after["collectors"], after["scheduled_sources"]) == (0, 0)
