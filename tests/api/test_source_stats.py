"""A source's crawl figures in `GET /api/v1/sources/{name}/status` and `sources status`."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from services.cli.figures import run_figures
from services.core.models import RunStats, RunStatus
from services.runtime.app.context import ServiceContext
from services.store.state.contract import CollectionRun
from tests.factories import BASE_TIME


def test_status_shows_the_last_runs_figures(ctx: ServiceContext, client: TestClient) -> None:
    source = {"name": "forum", "kind": "web", "url": "https://forum.example.org/t/1"}
    assert client.post("/api/v1/sources", json=source).status_code == 201
    assert client.get("/api/v1/sources/forum/status").json()["last_run"] is None
    run = CollectionRun(
        source_name="forum",
        started_at=BASE_TIME,
        finished_at=BASE_TIME + timedelta(seconds=12.5),
        status=RunStatus.OK,
        items_found=40,
        items_new=0,
        stats={"pages_fetched": 9, "errors": {"http_503": 2, "robots": 1}},
    )
    ctx.state.record_collection(run=run, items=[], cursor=None)
    body = client.get("/api/v1/sources/forum/status").json()
    assert datetime.fromisoformat(body["last_success_at"]) == BASE_TIME
    assert body["last_run"] == {
        "duration_seconds": 12.5,
        "items_found": 40,
        "items_stored": 0,
        "pages_fetched": 9,
        "errors": {"http_503": 2, "robots": 1},
        "notes": [],
    }
    listed = client.get("/api/v1/sources/status").json()
    assert [s["last_run"]["pages_fetched"] for s in listed if s["name"] == "forum"] == [9]


def test_run_figures_line() -> None:
    assert run_figures(None) == "-"
    figures = RunStats(
        duration_seconds=3.21,
        items_found=30,
        items_stored=5,
        pages_fetched=12,
        errors={"timeout": 1, "http_404": 2},
    )
    assert run_figures(figures) == (
        "12 pages, 30 found, 5 queued, 3.2 s, errors: http_404 x2, timeout x1"
    )
    feed = RunStats(duration_seconds=0.4, items_found=3, items_stored=1)
    assert run_figures(feed) == "3 found, 1 queued, 0.4 s"
