"""A mention's triage survives what rewrites stored mentions: an edited post collected
again (the analyzer stores a fresh copy), re-analysis, and an analyst's correction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from services.core.models import Brand
from services.core.query import parse_query
from services.core.triage import TriageState
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.runtime.app.triage import TriageChange, change_one
from services.runtime.training.corrections import record_correction
from services.runtime.workers.analysis import drain
from services.runtime.workers.reanalyze import job_spec, run_job
from services.store.contracts import MentionFilter
from tests.factories import BASE_TIME, local_settings, make_item

ANSWERED = TriageChange(state=TriageState.ANSWERED, assignee="Zoé", add_tags=("legal",))


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    settings = local_settings(tmp_path)
    context = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    context.sync_workspace()
    yield context
    context.close()


def _count(ctx: ServiceContext, query: str) -> int:
    return ctx.index.count(MentionFilter(query=parse_query(query)))


def test_triage_survives_recollection_reanalysis_and_correction(ctx: ServiceContext) -> None:
    item = make_item(
        url="https://forum.example.org/t/1",
        text="Mon Veloria est tombé en panne, je suis furieux.",
        published_at=BASE_TIME,
    )
    ctx.state.enqueue_items([item])
    drain(ctx)
    [stored] = list(ctx.index.iter_all(MentionFilter()))
    change_one(state=ctx.state, index=ctx.index, mention_id=stored.id, change=ANSWERED, by="Zoé")
    assert _count(ctx, "state:answered tag:legal assignee:zoe") == 1

    # The author edits the post: collected again, analyzed again, stored again.
    edited = item.model_copy(update={"text": item.text + " Toujours rien !"})
    assert ctx.state.enqueue_items([edited]) == 1
    drain(ctx)
    again = ctx.index.get(stored.id)
    assert again is not None and "Toujours rien" in again.text
    assert again.triage.state == TriageState.ANSWERED and again.triage.tags == ["legal"]

    job = ctx.state.create_reanalysis_job(
        job_spec(since=BASE_TIME - timedelta(days=1), until=None, query="")
    )
    assert run_job(ctx, job["id"], yield_to_inbox=False)["status"] == "done"
    assert _count(ctx, "state:answered tag:legal assignee:zoe") == 1

    record_correction(
        state=ctx.state, index=ctx.index, mention_id=stored.id, field="sentiment", label="positive"
    )
    assert _count(ctx, "state:answered tag:legal sentiment:positive") == 1
