"""Social sources run from the same scheduler as feeds, with the real state store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.collector.scheduler import CollectorScheduler
from services.core.models import RunStatus, Source
from services.core.settings import CollectorSettings
from services.store.state import SqlStateStore
from tests.httpserver import HTTPTestServer
from tests.social.test_hackernews import COMMENT, STORY, envelope


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SqlStateStore]:
    store = SqlStateStore(f"sqlite:///{tmp_path}/state.db")
    yield store
    store.close()


def test_feed_and_social_kinds_share_one_scheduler(
    state: SqlStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VEILLE_REDDIT_CLIENT_ID", "VEILLE_REDDIT_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with HTTPTestServer() as server:
        server.add("/api/v1/search_by_date", body=envelope([STORY, COMMENT]))
        sources = [
            Source(name="hn", kind="hackernews", options={"base_url": server.url("/api/v1")}),
            Source(name="reddit", kind="reddit"),
            Source(name="typo", kind="redit"),
        ]
        state.sync_workspace(sources=sources, brands=[], competitors=[])
        scheduler = CollectorScheduler(
            state,
            CollectorSettings(allowed_networks=["127.0.0.0/8"]),
            sources_provider=state.list_sources,
        )
        runs = {run.source_name: run for run in scheduler.run_once()}

    assert runs["hn"].status == RunStatus.OK and runs["hn"].items_new == 2
    claimed = {c.item.platform_id: c.item for c in state.claim_items(limit=10)}
    assert set(claimed) == {"8863", "2921983"}
    comment = claimed["2921983"]
    assert comment.thread is not None and comment.thread.parent_id == "2921506"
    assert comment.to_mention().thread == comment.thread  # carried into the mention

    reddit = state.source_status("reddit")
    assert reddit.state == "disabled"
    assert reddit.disabled_reason and "VEILLE_REDDIT_CLIENT_ID" in reddit.disabled_reason
    typo = state.source_status("typo")
    assert typo.state == "disabled"
    assert typo.disabled_reason and "unknown source kind 'redit'" in typo.disabled_reason


def test_a_feed_source_needs_a_url() -> None:
    with pytest.raises(ValueError, match="a feed source needs a url"):
        Source(name="f")
