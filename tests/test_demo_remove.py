"""`veille demo remove`: the demo mentions go, the others stay, and the demo never returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.cli import main as cli_main
from services.cli.demo_cli import demo_removed_marker, remove_demo
from services.core.models import Brand
from services.core.workspace import Workspace
from services.runtime.app.context import ServiceContext
from services.store.contracts import MentionFilter
from tests.factories import local_settings, make_mention


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    settings = local_settings(tmp_path, data_dir=str(tmp_path / "data"), demo_data=True)
    context = ServiceContext(settings, Workspace(brands=[Brand(name="Veloria")]))
    context.sync_workspace()
    yield context
    context.close()


def test_demo_mentions_are_removed_and_the_others_kept(ctx: ServiceContext) -> None:
    demo = [make_mention(source_kind="demo", source_name="demo") for _ in range(1203)]
    own = [make_mention(source_name="my-blog") for _ in range(3)]
    ctx.index.upsert(demo + own)

    assert remove_demo(ctx).mentions == len(demo)  # more than one batch of deletions

    left = list(ctx.index.iter_all(MentionFilter()))
    assert sorted(m.id for m in left) == sorted(m.id for m in own)
    assert demo_removed_marker(ctx).exists()


def _correct(ctx: ServiceContext, mention: Any) -> None:
    ctx.state.add_correction(
        mention_id=mention.id,
        fingerprint=f"f-{mention.id}",
        field="topics",
        brand=None,
        label=["price"],
        text=mention.text,
        language="en",
        author="analyst",
    )


def _fired(ctx: ServiceContext, key: str, samples: list[Any]) -> None:
    ctx.state.record_alert_event(
        rule_name="spike",
        kind="volume_spike",
        status="firing",
        dedupe_key=key,
        numbers={"top_mentions": [{"id": m.id, "text": m.text} for m in samples]},
        channels=["log"],
    )


def test_what_hangs_off_the_demo_goes_with_it(ctx: ServiceContext) -> None:
    """Newcomer test: after `veille demo remove`, the demo's alert events and the
    corrections made on demo mentions remained."""
    demo = [make_mention(source_kind="demo", source_name="demo") for _ in range(3)]
    own = [make_mention(source_name="my-blog") for _ in range(2)]
    ctx.index.upsert(demo + own)
    _correct(ctx, demo[0])
    _correct(ctx, own[0])
    _fired(ctx, "demo-only", demo[:2])  # fired on the demo alone: goes
    _fired(ctx, "mixed", [demo[2], own[1]])  # stays, without its demo sample
    _fired(ctx, "own", own)

    removed = remove_demo(ctx)
    assert (removed.mentions, removed.corrections) == (3, 1)
    assert (removed.alert_events, removed.alert_samples) == (1, 1)
    assert [c["mention_id"] for c in ctx.state.list_corrections()] == [own[0].id]
    events = {e.dedupe_key: e for e in ctx.state.list_alert_events(rule_name="spike")}
    assert sorted(events) == ["mixed", "own"]
    assert [s["id"] for s in events["mixed"].numbers["top_mentions"]] == [own[1].id]
    assert len(events["own"].numbers["top_mentions"]) == 2
    again = remove_demo(ctx)  # nothing left of the demo: nothing else goes
    assert (again.mentions, again.corrections, again.alert_events) == (0, 0, 0)
    assert len(ctx.state.list_alert_events(rule_name="spike")) == 2


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


def test_the_demo_triage_goes_and_the_rest_stays(ctx: ServiceContext) -> None:
    """Newcomer test: `veille demo remove` left the triage records and notes of demo
    mentions behind."""
    from services.core.triage import TriageState
    from services.runtime.app.triage import TriageChange, apply_change

    demo = [make_mention(source_kind="demo", source_name="demo") for _ in range(2)]
    own = [make_mention(source_name="my-blog")]
    ctx.index.upsert(demo + own)
    change = TriageChange(state=TriageState.ANSWERED)
    apply_change(state=ctx.state, index=ctx.index, mentions=demo + own, change=change, by="cm")
    for mention in demo + own:
        ctx.state.add_triage_note(mention_id=mention.id, author="cm", text="replied")

    assert remove_demo(ctx).triage == 2
    ids = [m.id for m in demo + own]
    assert list(ctx.state.triage_records(ids)) == [own[0].id]
    assert ctx.state.triage_note_counts(ids) == {own[0].id: 1}
