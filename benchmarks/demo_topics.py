"""Topic counts on the bundled demo mentions: how often each topic is given, per method.

    .venv/bin/python benchmarks/demo_topics.py

The demo (services/runtime/data/demo/mentions.jsonl, what `make up` imports) is embedded as
the pipeline embeds a mention's overall text, then tagged with the example workspace's
taxonomy by the nearest-anchor assigner (the former default) and by the linear heads
trained from the taxonomy alone (the analyzer's default). The texts given each topic by
the default are printed (most frequent first), to read what it gives.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from importlib import resources
from pathlib import Path

from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, load_embedder
from services.analyzer.pipeline import truncate
from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.anchors import TopicAssigner, background_texts, background_vectors
from services.analyzer.topics.classifier import TopicClassifier
from services.analyzer.topics.lexical import TopicVocabulary
from services.core.workspace import load_workspace

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    raw = (
        resources.files("services.runtime.data").joinpath("demo/mentions.jsonl").read_text("utf-8")
    )
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    texts = [truncate("\n".join(p for p in (r.get("title"), r.get("text")) if p)) for r in rows]
    topics = load_workspace(REPO / "config").workspace.topics
    embedder = load_embedder(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_EMBEDDING)
    prepare = load_head(None, embedding_name=embedder.name).prepare
    vectors = embedder.embed([prepare(t) for t in texts])
    background = background_vectors(embedder, background_texts(), prepare)
    anchor = TopicAssigner.calibrate(topics, embedder, prepare=prepare, background=background)
    started = time.perf_counter()
    heads = TopicClassifier.from_taxonomy(anchor, background, vocabulary=TopicVocabulary.of(topics))
    trained_ms = (time.perf_counter() - started) * 1000
    results = {"nearest anchor (before)": anchor.assign(vectors)}
    results["taxonomy heads only"] = heads.assign(vectors)
    results["heads and topic words (default)"] = heads.assign(vectors, texts)
    print(f"training the taxonomy heads took {trained_ms:.0f} ms")
    print(f"{len(rows)} demo mentions\n\n| topic | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    counts = {name: Counter(t for row in labels for t in row) for name, labels in results.items()}
    for topic in [*anchor.names, "(none)"]:
        cells = [
            str(sum(1 for row in labels if not row)) if topic == "(none)" else str(c[topic])
            for (name, labels), c in zip(results.items(), counts.values(), strict=True)
        ]
        print(f"| {topic} | " + " | ".join(cells) + " |")
    for topic in anchor.names:
        print(f"\n{topic}, with the default:")
        given = Counter(
            text
            for text, row in zip(texts, results["heads and topic words (default)"], strict=True)
            if topic in row
        )
        for text, count in given.most_common(8):
            print(f"  {count:3d} x {text[:110]}")


if __name__ == "__main__":
    main()
