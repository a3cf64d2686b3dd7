"""`veille train`, topics: retrain the topic heads on the analysts' topic corrections.

The topic heads are trained from the taxonomy (anchors, off-topic background) plus the
corrected mentions (`services.analyzer.topics.model`). As for sentiment, a fixed share of
the corrections is held back by a hash of their content and never trained on; the
report compares the topic model in use and the new one on them (micro precision,
recall, F1), each as the analyzer tags: with the topics' words and English texts' second
reading. The new version is written under `<data_dir>/heads` and used (from the
analyzer's next batch) only when its F1 on the held-back corrections is no worse
(`force` overrides).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.analyzer.pipeline import Analyzer, truncate
from services.analyzer.topics.anchors import Vectors
from services.analyzer.topics.classifier import TopicClassifier
from services.analyzer.topics.head_store import (
    adopt_topic_heads,
    current_topic_stem,
    next_topic_stem,
    save_topic_heads,
)
from services.analyzer.topics.model import LabelledTopics, build_topic_model
from services.core.topics import Topic
from services.runtime.training.examples import Progress, TrainingError, split_held_back

log = logging.getLogger("veille.train")

MIN_TOPIC_CORRECTIONS = 5  # so that at least two can be held back


@dataclass(frozen=True)
class TopicExample:
    text: str
    topics: list[str]
    key: str  # what decides whether it is held back
    language: str | None = None  # the mention's: French ones are read by their own encoder


@dataclass(frozen=True)
class TopicFigures:
    count: int
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


@dataclass
class TopicTrainReport:
    corrections: int
    trained_on: int
    held_back: int
    before: TopicFigures
    after: TopicFigures
    heads: Path
    previous: str
    adopted: bool
    reason: str


def topic_examples(
    corrections: Sequence[dict[str, Any]], known: Sequence[str]
) -> list[TopicExample]:
    """One example per current topic correction; topics no longer in the taxonomy are
    dropped from its labels (the mention is then a negative for them all)."""
    names = set(known)
    return [
        TopicExample(
            text=truncate(record["text"]),
            topics=[t for t in record["label"] if t in names],
            key=f"{record['fingerprint']}:topics",
            language=record.get("language"),
        )
        for record in corrections
        if record["field"] == "topics"
    ]


def figures(
    model: TopicClassifier,
    vectors: Vectors,
    gold: Sequence[Sequence[str]],
    texts: Sequence[str] | None = None,
    second: tuple[list[int], Vectors] | None = None,
) -> TopicFigures:
    """Micro precision, recall and F1 of `model` on labelled vectors (and their texts,
    for the lexical channel, and English texts' second reading, as the analyzer tags)."""
    predicted = model.assign(vectors, texts, second) if len(gold) else []
    tp = fp = fn = 0
    for truth, guess in zip(gold, predicted, strict=True):
        tp += len(set(truth) & set(guess))
        fp += len(set(guess) - set(truth))
        fn += len(set(truth) - set(guess))
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return TopicFigures(len(gold), precision, recall, f1, tp, fp, fn)


def train_topic_heads(
    analyzer: Analyzer,
    corrections: Sequence[dict[str, Any]],
    *,
    topics: Sequence[Topic],
    data_dir: Path,
    force: bool = False,
    progress: Progress | None = None,
) -> TopicTrainReport:
    """Trains topic heads on `topics` and the corrections, compares them with the model
    in use on the held-back corrections, writes the version; see the module."""
    if not topics:
        raise TrainingError("the workspace has no topics: add some before training topic heads")
    examples = topic_examples(corrections, [t.name for t in topics])
    if len(examples) < MIN_TOPIC_CORRECTIONS:
        raise TrainingError(
            f"only {len(examples)} topic correction(s) so far: training topic heads needs at "
            f"least {MIN_TOPIC_CORRECTIONS} (correct more with POST /api/v1/mentions/{{id}}/topics)"
        )
    trained, held = split_held_back(examples)
    prepare = analyzer.head.prepare

    def embed(rows: Sequence[TopicExample], stage: str) -> Vectors:
        # As the analyzer embeds these mentions (French ones by their own encoder, mapped
        # back), so the heads learn from the vectors they will be applied to.
        if progress:
            progress(stage, 0, len(rows))
        vectors = analyzer.topic_vectors([r.text for r in rows], [r.language for r in rows])
        if progress:
            progress(stage, len(rows), len(rows))
        return vectors

    trained_vectors = embed(trained, "embedding topic corrections")
    held_vectors = embed(held, "embedding held-back topic corrections")
    labelled = LabelledTopics(trained_vectors, [r.topics for r in trained])
    held_texts = [r.text for r in held]
    # Both models as the analyzer tags: the one in use (the taxonomy, with the heads adopted
    # so far) and English texts' second reading, which the analyzer keeps, taxonomy-only,
    # over adopted heads (pipeline.topic_model); `english` is None when it does not run.
    current, english = analyzer.topic_reading(held_texts, [r.language for r in held])
    new = build_topic_model(topics, analyzer.embedder, prepare=prepare, labelled=labelled)
    if current.second is not None and [h.name for h in current.heads] == [
        h.name for h in new.heads
    ]:
        new = new.with_second(current.second)
    gold = [r.topics for r in held]
    previous = current_topic_stem(data_dir, analyzer.embedder.name)
    report = TopicTrainReport(
        corrections=len(examples),
        trained_on=len(trained),
        held_back=len(held),
        before=figures(current, held_vectors, gold, held_texts, english),
        after=figures(new, held_vectors, gold, held_texts, english),
        heads=next_topic_stem(data_dir, analyzer.embedder.name),
        previous=str(previous) if previous else "the taxonomy alone",
        adopted=False,
        reason="",
    )
    if report.after.f1 >= report.before.f1:
        report.adopted, report.reason = True, "no worse on the held-back topic corrections"
    elif force:
        report.adopted, report.reason = True, "--force, although it is worse on the held-back"
    else:
        report.reason = "it is worse on the held-back topic corrections"
    save_topic_heads(report.heads, labelled, _metadata(report, topics))
    if report.adopted:
        adopt_topic_heads(data_dir, analyzer.embedder.name, report.heads)
    log.info("topic heads %s (adopted: %s, %s)", report.heads, report.adopted, report.reason)
    return report


def _metadata(report: TopicTrainReport, topics: Sequence[Topic]) -> dict[str, Any]:
    def rounded(f: TopicFigures) -> dict[str, float]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(f).items()}

    return {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": "taxonomy heads + analysts' topic corrections"
        " (services/analyzer/topics/model.py)",
        "topics": [t.name for t in topics],
        "corrections": report.corrections,
        "trained_on": report.trained_on,
        "held_back": report.held_back,
        "held_back_before": rounded(report.before),
        "held_back_after": rounded(report.after),
        "previous": report.previous,
        "adopted": report.adopted,
        "reason": report.reason,
    }
