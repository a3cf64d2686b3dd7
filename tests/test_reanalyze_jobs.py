"""Re-analysis jobs in-process: stopping and resuming, waiting for the inbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.core.models import Brand, Sentiment, SentimentLabel
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.training.corrections import record_correction
from services.runtime.workers import reanalyze
from services.runtime.workers.reanalyze import job_spec, run_job
from tests.factories import BASE_TIME, local_settings, make_item, make_mention

STALE = Sentiment(label=SentimentLabel.NEUTRAL, score=0.111)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    settings = local_settings(tmp_path)
    context = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    context.sync_workspace()
    context.index.upsert(
        [
            make_mention(
                id=f"m{i:02d}",
                text=f"Mon Veloria numéro {i} est tombé en panne, je suis furieux.",
                sentiment=STALE,
                published_at=BASE_TIME + timedelta(minutes=i),
            )
            for i in range(10)
        ]
        # Outside the window: must stay untouched.
        + [make_mention(id="old", sentiment=STALE, published_at=BASE_TIME - timedelta(days=90))]
    )
    yield context
    context.close()


def _spec() -> dict[str, object]:
    return job_spec(since=BASE_TIME - timedelta(days=1), until=None, query="veloria")


def test_a_stopped_job_resumes_where_it_stopped(ctx: ServiceContext) -> None:
    record_correction(
        state=ctx.state, index=ctx.index, mention_id="m03", field="sentiment", label="positive"
    )
    job = ctx.state.create_reanalysis_job(_spec())
    stop = threading.Event()
    seen: list[tuple[int, int | None]] = []

    def stop_after_first(done: int, total: int | None) -> None:
        seen.append((done, total))
        stop.set()

    stopped = run_job(ctx, job["id"], batch_size=4, progress=stop_after_first, stop=stop)
    assert (stopped["status"], stopped["done"], stopped["total"]) == ("pending", 4, 10)
    assert stopped["cursor"]
    assert ctx.index.get("m05").sentiment == STALE  # type: ignore[union-attr]

    finished = run_job(ctx, job["id"], batch_size=4, progress=lambda d, t: seen.append((d, t)))
    assert (finished["status"], finished["done"]) == ("done", 10)
    assert seen == [(4, 10), (8, 10), (10, 10)]  # resumed at the 5th, no mention twice
    for i in range(10):
        sentiment = ctx.index.get(f"m{i:02d}").sentiment  # type: ignore[union-attr]
        assert sentiment is not None
        if i == 3:
            assert sentiment == Sentiment(
                label=SentimentLabel.POSITIVE, score=1.0, source="analyst"
            )
        else:
            assert sentiment.score != STALE.score and sentiment.source == "model"
    assert ctx.index.get("old").sentiment == STALE  # type: ignore[union-attr]
    assert run_job(ctx, job["id"])["done"] == 10  # a finished job stays finished


def test_a_job_waits_while_collected_items_wait(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx.state.enqueue_items([make_item(text="Veloria, nouvel article")])
    job = ctx.state.create_reanalysis_job(_spec())
    stop = threading.Event()
    timer = threading.Timer(1.5, stop.set)
    timer.start()
    try:
        result = run_job(ctx, job["id"], batch_size=4, stop=stop)
    finally:
        timer.cancel()
    assert (result["status"], result["done"]) == ("pending", 0)  # it yielded to the inbox
    # But not forever: with no worker emptying the inbox, it moves on after a while.
    monkeypatch.setattr(reanalyze, "INBOX_WAIT_SECONDS", 0.1)
    monkeypatch.setattr(reanalyze, "MAX_INBOX_WAIT_SECONDS", 0.3)
    result = run_job(ctx, job["id"], batch_size=4)
    assert (result["status"], result["done"]) == ("done", 10)
    assert ctx.state.inbox_counts()["pending"] == 1  # the item is still the worker's


def test_job_spec_checks_its_window_and_query() -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    with pytest.raises(ValueError, match="must be after"):
        job_spec(since=now, until=now, query="")
    with pytest.raises(ValueError, match="character"):
        job_spec(since=now, until=None, query="veloria AND")
    assert job_spec(since=now, until=None, query="")["until"] is None
