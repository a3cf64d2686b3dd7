"""`veille demo remove`: the demo mentions go, the others stay, and the demo never returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.cli import main as cli_main
from services.cli.demo_cli import demo_removed_marker, remove_demo
from services.core.models import Brand
from services.core.settings import build_settings
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionFilter
from tests.factories import make_mention


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    settings = build_settings(
        {
            "data_dir": str(tmp_path / "data"),
            "demo_data": True,
            "store": {
                "state_url": f"sqlite:///{tmp_path}/veille.db",
                "index_url": f"embedded:{tmp_path}/index",
            },
        }
    )
    context = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    context.sync_workspace()
    yield context
    context.close()


def test_demo_mentions_are_removed_and_the_others_kept(ctx: ServiceContext) -> None:
    demo = [make_mention(source_kind="demo", source_name="demo") for _ in range(1203)]
    own = [make_mention(source_name="my-blog") for _ in range(3)]
    ctx.index.upsert(demo + own)

    assert remove_demo(ctx) == len(demo)  # more than one batch of deletions

    left = list(ctx.index.iter_all(MentionFilter()))
    assert sorted(m.id for m in left) == sorted(m.id for m in own)
    assert demo_removed_marker(ctx).exists()


def test_an_empty_store_gets_no_demo_once_it_was_removed(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported: list[int] = []

    def enqueue_items(items: list[Any]) -> int:
        imported.append(len(items))
        return 0

    monkeypatch.setattr(ctx.state, "enqueue_items", enqueue_items)
    monkeypatch.setattr(cli_main, "_drain_with_progress", lambda *args: None)

    remove_demo(ctx)  # nothing to delete: the store is empty
    cli_main._import_demo_if_empty(ctx)
    assert imported == []

    demo_removed_marker(ctx).unlink()
    cli_main._import_demo_if_empty(ctx)
    assert imported and imported[0] > 200  # without the marker, the demo comes in
