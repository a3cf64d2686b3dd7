"""Variants of the topics' words and of the threshold, on eval_topics_dev.py's dev split.

    PYTHONPATH=. .venv/bin/python benchmarks/topic_words_variants.py --cache DIR

Issue 24's known weaknesses of the lexical channel (lexical.py): real posts pasted as
examples bring their incidental words into the topic's vocabulary (learning curves: F1
0.63 with none, 0.54 with one per topic), and off-topic posts sharing one word get a
topic. For each way of weighing a topic's stems (below) and each way of setting the
threshold, prints on the dev split:
- the variant at the shipped rule (weight 1, threshold -1.75, spread 1), pooled micro;
- leave one taxonomy out: the weight and threshold (or background share) chosen on three
  taxonomies, scored on the fourth;
- the pasted-posts learning curve (dev halves, 4 seeds, k real posts per topic added to
  its examples, as eval_topics_dev.py measures it);
- a paired bootstrap over dev posts against the shipped default;
- how many of the bundled background's texts get a topic (heads trained without them).

Stem weights (per topic; a stem another topic also has is dropped, as shipped):
- `shipped`: every stem of the name, description and examples weighs 1;
- `examples-half`: stems only in examples weigh 0.5;
- `two-texts`: a stem only in examples counts when two of the topic's texts have it;
- `per-text`: each example gives its stems min(1, 4 / its number of stems) (a long post
  weighs like a short example);
- `rare`: weight 1 / (1 + how many background texts have the stem).
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.eval_topics_dev import (
    REPO,
    Counts,
    Taxonomy,
    counts,
    decide,
    embed_cached,
    line,
    load_posts,
    load_taxonomies,
    paired_bootstrap,
    picked,
    prf,
    with_examples,
)
from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, load_embedder
from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.anchors import (
    TopicAssigner,
    Vectors,
    background_texts,
    background_vectors,
    centred,
)
from services.analyzer.topics.classifier import (
    REFERENCE_ANCHORS,
    TAXONOMY_L2,
    TAXONOMY_POSITIVE_WEIGHT,
    TAXONOMY_SPREAD,
    TAXONOMY_THRESHOLD,
    TopicClassifier,
    TopicHead,
    _fit,
)
from services.analyzer.topics.lexical import MAX_MATCHES, TopicVocabulary, stems

Weights = list[dict[str, float]]  # per topic, stem -> weight
WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0)
THRESHOLDS = (-2.5, -2.25, -2.0, -1.75, -1.5, -1.25, -1.0)
SHARES = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2)
EXAMPLE_WEIGHTS = (
    0.25,
    0.5,
    0.75,
    1.0,
)  # background share allowed a topic (per-taxonomy threshold)
SEEDS = 4
CURVE_K = (0, 1, 2, 4)


def topic_weights(
    variant: str,
    texts: list[list[str]],
    background: list[frozenset[str]],
    example_weight: float = 0.5,
) -> Weights:
    """Each topic's stem weights; `texts[i]` is topic i's name, description, examples."""
    seen_in_bg = Counter(s for b in background for s in b)
    out: Weights = []
    for name, description, *examples in texts:
        own = stems(name) | stems(description)
        per_example = [stems(e) for e in examples]
        found: dict[str, float] = dict.fromkeys(own, 1.0)
        in_texts = Counter(s for e in per_example for s in e) + Counter(own)
        for e in per_example:
            for s in e:
                if variant == "examples-half":
                    w = example_weight
                elif variant == "examples-half-or-two":
                    w = 1.0 if in_texts[s] >= 2 else example_weight
                elif variant == "examples-not-background":
                    w = 0.0 if seen_in_bg[s] else 1.0
                elif variant == "examples-half-not-background":
                    w = 0.0 if seen_in_bg[s] else example_weight
                elif variant == "two-texts":
                    w = 1.0 if in_texts[s] >= 2 else 0.0
                elif variant == "per-text":
                    w = min(1.0, 4.0 / max(len(e) / 2, 1))  # len(e): two stems a word
                else:
                    w = 1.0
                found[s] = max(found.get(s, 0.0), w)
        if variant == "rare":
            found = {s: w / (1 + seen_in_bg[s]) for s, w in found.items()}
        out.append({s: w for s, w in found.items() if w > 0})
    shared = Counter(s for topic in out for s in topic)
    return [{s: w for s, w in topic.items() if shared[s] == 1} for topic in out]


def matches(weights: Weights, texts: Sequence[str]) -> Vectors:
    out = np.zeros((len(texts), len(weights)), dtype=np.float32)
    for i, text in enumerate(texts):
        found = stems(text)
        for j, topic in enumerate(weights):
            out[i, j] = sum(topic.get(s, 0.0) for s in found) / 2
    return np.minimum(out, MAX_MATCHES)


def heads(assigner: TopicAssigner, background: Vectors) -> TopicClassifier:
    return TopicClassifier.from_taxonomy(assigner, background)


def length_weighted_heads(
    assigner: TopicAssigner, background: Vectors, lengths: list[list[int]], reference: int
) -> TopicClassifier:
    """The default heads with each anchor's weight times min(1, reference / its words):
    a long text (a pasted post) weighs like a short example. `lengths[i]`: topic i's
    anchors' word counts, in its anchors' order (0: the name and query anchors)."""
    centre = assigner.centre
    assert centre is not None
    anchors = np.concatenate([t.anchors for t in assigner.topics])
    off_topic = centred(background, centre)
    owner = np.concatenate([np.full(len(t.anchors), i) for i, t in enumerate(assigner.topics)])
    owns = owner[:, None] == np.arange(len(assigner.topics))[None, :]
    share = np.array([min(1.0, REFERENCE_ANCHORS / len(t.anchors)) for t in assigner.topics])
    factor = np.array([min(1.0, reference / n) if n else 1.0 for ls in lengths for n in ls])
    x = np.concatenate([anchors, off_topic])
    y = np.concatenate([owns, np.zeros((len(off_topic), len(owns[0])), dtype=bool)])
    sample = np.concatenate(
        [
            np.where(owns, TAXONOMY_POSITIVE_WEIGHT * factor[:, None], 1.0) * share[owner][:, None],
            np.ones((len(off_topic), len(owns[0]))),
        ]
    )
    weights, biases = _fit(x, y.astype(np.float64), TAXONOMY_L2, sample)
    heads_ = [
        TopicHead(t.name, weights[:, i].copy(), float(biases[i]), TAXONOMY_THRESHOLD)
        for i, t in enumerate(assigner.topics)
    ]
    return TopicClassifier(heads_, centre, spread=TAXONOMY_SPREAD)


def anchor_lengths(texts: list[list[str]], extra: list[list[str]]) -> list[list[int]]:
    """Word counts of each topic's anchors in their order: description and examples
    (deduplicated), name and query (0), then the pasted posts."""
    out = []
    for (_, description, *examples), pasted in zip(texts, extra, strict=True):
        own = list(dict.fromkeys([description, *examples]))
        out.append([len(t.split()) for t in own] + [0, 0] + [len(t.split()) for t in pasted])
    return out


def background_scores(assigner: TopicAssigner, background: Vectors, folds: int = 5) -> Vectors:
    """Each background text's logits from heads trained without its fold."""
    out = np.zeros((len(background), len(assigner.topics)), dtype=np.float32)
    order = np.arange(len(background))
    for f in range(folds):
        held = order % folds == f
        out[held] = heads(assigner, background[~held]).scores(background[held])
    return out


def share_threshold(bg_scores: Vectors, share: float) -> float:
    """The lowest threshold (never below the shipped one) at which at most `share` of the
    background texts get a topic (their best score, spread aside)."""
    best = np.sort(bg_scores.max(axis=1))[::-1]
    allowed = int(np.floor(share * len(best)))
    cut = best[allowed] + 1e-4 if allowed < len(best) else -np.inf
    return float(max(TAXONOMY_THRESHOLD, cut))


def evaluate(
    variant: str,
    taxonomies: list[Taxonomy],
    background: Vectors,
    bg_texts: list[str],
    bg_stems: list[frozenset[str]],
    shipped_pred: dict[str, np.ndarray],
) -> None:
    print(f"== {variant}")
    found: dict[tuple[float, float], dict[str, Counts]] = {}
    by_share: dict[tuple[float, float], dict[str, Counts]] = {}
    fixed: dict[str, np.ndarray] = {}
    bg_tagged = 0
    for tax in taxonomies:
        weights = topic_weights(variant, tax.topic_texts, bg_stems)
        logits, bonus = (
            heads(tax.assigner, background).scores(tax.vectors),
            matches(weights, tax.texts),
        )
        bg_logits = background_scores(tax.assigner, background)
        bg_bonus = matches(weights, bg_texts)
        gold = tax.gold(tax.rows)
        for w, t in itertools.product(WEIGHTS, THRESHOLDS):
            found.setdefault((w, t), {})[tax.name] = counts(
                decide(logits + w * bonus, t, TAXONOMY_SPREAD), gold
            )
        for w, share in itertools.product(WEIGHTS, SHARES):
            t = share_threshold(bg_logits + w * bg_bonus, share)
            by_share.setdefault((w, share), {})[tax.name] = counts(
                decide(logits + w * bonus, t, TAXONOMY_SPREAD), gold
            )
        fixed[tax.name] = decide(logits + bonus, TAXONOMY_THRESHOLD, TAXONOMY_SPREAD)
        bg_tagged += int(
            decide(bg_logits + bg_bonus, TAXONOMY_THRESHOLD, TAXONOMY_SPREAD).any(1).sum()
        )
    total = sum(found[1.0, TAXONOMY_THRESHOLD].values())
    print(line("  shipped rule, pooled", total))
    print(
        "  background texts given a topic (cross-fitted heads), summed over taxonomies:",
        bg_tagged,
    )
    for label, table in (("weight, threshold", found), ("weight, background share", by_share)):
        total = np.zeros(3, dtype=int)
        chosen = []
        for held in taxonomies:
            others = [t.name for t in taxonomies if t is not held]
            best = max(table, key=lambda r: prf(sum(table[r][n] for n in others))[2])
            total += table[best][held.name]
            chosen.append(best)
        print(line(f"  LOTO {label}", total) + f"  chose {chosen}")
    per_post = []
    for tax in taxonomies:
        gold = tax.gold(tax.rows)
        for i in range(len(tax.rows)):
            per_post.append(
                (counts(fixed[tax.name][i], gold[i]), counts(shipped_pred[tax.name][i], gold[i]))
            )
    if variant.startswith("examples-half"):  # the example weight chosen too
        grid: dict[tuple[float, float, float], dict[str, Counts]] = {}
        for tax in taxonomies:
            logits = heads(tax.assigner, background).scores(tax.vectors)
            gold = tax.gold(tax.rows)
            for x in EXAMPLE_WEIGHTS:
                bonus = matches(topic_weights(variant, tax.topic_texts, bg_stems, x), tax.texts)
                for w, t in itertools.product(WEIGHTS, THRESHOLDS):
                    grid.setdefault((x, w, t), {})[tax.name] = counts(
                        decide(logits + w * bonus, t, TAXONOMY_SPREAD), gold
                    )
        total, chosen = np.zeros(3, dtype=int), []
        for held in taxonomies:
            others = [t.name for t in taxonomies if t is not held]
            best = max(grid, key=lambda r: prf(sum(grid[r][n] for n in others))[2])
            total += grid[best][held.name]
            chosen.append(best)
        print(line("  LOTO example weight, weight, threshold", total) + f"  chose {chosen}")
        for x in EXAMPLE_WEIGHTS:
            print(
                line(
                    f"    example weight {x}, shipped rule",
                    sum(grid[x, 1.0, TAXONOMY_THRESHOLD].values()),
                )
            )
    print(
        f"  against shipped, paired bootstrap over {len(per_post)} dev posts: "
        f"{paired_bootstrap(np.array(per_post))}"
    )
    curve(variant, taxonomies, background, bg_stems)


def curve(
    variant: str, taxonomies: list[Taxonomy], background: Vectors, bg_stems: list[frozenset[str]]
) -> None:
    ways = ("both", "heads only", "words only")  # where the pasted posts go
    totals = {(how, k): np.zeros(3, dtype=int) for how in ways for k in CURVE_K}
    for seed, tax in itertools.product(range(SEEDS), taxonomies):
        rng = random.Random(seed)
        order = rng.sample(range(len(tax.rows)), len(tax.rows))
        train, test = order[: len(order) // 2], order[len(order) // 2 :]
        gold_test = tax.gold([tax.rows[i] for i in test])
        test_vectors, test_texts = picked(tax, test)
        for k in CURVE_K:
            chosen = [[i for i in train if n in tax.rows[i]["topics"]][:k] for n in tax.names]
            extra = [tax.vectors[c].reshape(len(c), tax.vectors.shape[1]) for c in chosen]
            texts = [
                [*t, *(tax.rows[i]["text"] for i in c)]
                for t, c in zip(tax.topic_texts, chosen, strict=True)
            ]
            pasted = matches(topic_weights(variant, texts, bg_stems), test_texts)
            written = matches(topic_weights(variant, tax.topic_texts, bg_stems), test_texts)
            pasted_heads = heads(with_examples(tax.assigner, extra), background).scores(
                test_vectors
            )
            written_heads = heads(tax.assigner, background).scores(test_vectors)
            for how, scores in (
                ("both", pasted_heads + pasted),
                ("heads only", pasted_heads + written),
                ("words only", written_heads + pasted),
            ):
                totals[how, k] += counts(
                    decide(scores, TAXONOMY_THRESHOLD, TAXONOMY_SPREAD), gold_test
                )
        for reference in (8, 12, 16):
            for k in CURVE_K:
                chosen = [[i for i in train if n in tax.rows[i]["topics"]][:k] for n in tax.names]
                extra = [tax.vectors[c].reshape(len(c), tax.vectors.shape[1]) for c in chosen]
                pasted_texts = [[tax.rows[i]["text"] for i in c] for c in chosen]
                texts = [[*t, *p] for t, p in zip(tax.topic_texts, pasted_texts, strict=True)]
                model = length_weighted_heads(
                    with_examples(tax.assigner, extra),
                    background,
                    anchor_lengths(tax.topic_texts, pasted_texts),
                    reference,
                )
                scores = model.scores(test_vectors) + matches(
                    topic_weights(variant, texts, bg_stems), test_texts
                )
                key = (f"both, anchors weighed by length {reference}", k)
                totals.setdefault(key, np.zeros(3, dtype=int))
                totals[key] += counts(
                    decide(scores, TAXONOMY_THRESHOLD, TAXONOMY_SPREAD), gold_test
                )
    ways = tuple(dict.fromkeys(how for how, _ in totals))
    for how in ways:
        print(
            f"  pasted posts ({how}): "
            + ", ".join(f"k={k} {prf(totals[how, k])[2]:.2f}" for k in CURVE_K)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared/corpora")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument(
        "--variants",
        nargs="*",
        default=["shipped", "examples-half", "two-texts", "per-text", "rare"],
    )
    args = parser.parse_args()
    posts, topics = load_posts(args.corpora), load_taxonomies()
    embedder = load_embedder(DEFAULT_EMBEDDING)
    prepare = load_head(None, embedding_name=embedder.name).prepare
    bg_texts = background_texts()
    background = background_vectors(embedder, bg_texts, prepare)
    bg_stems = [stems(t) for t in bg_texts]
    taxonomies = []
    for name, taxonomy in topics.items():
        rows = [r for r in posts if r["taxonomy"] == name and r["split"] == "dev"]
        vectors = embed_cached(embedder, [prepare(r["text"]) for r in rows], args.cache)
        assigner = TopicAssigner.calibrate(
            taxonomy, embedder, prepare=prepare, background=background
        )
        texts = [[t.name, t.description, *t.examples] for t in taxonomy]
        taxonomies.append(
            Taxonomy(name, assigner, rows, vectors, TopicVocabulary.of(taxonomy), texts)
        )
    shipped = {
        t.name: np.array(
            [
                [n in row for n in t.names]
                for row in t.default(background).assign(t.vectors, t.texts)
            ],
            dtype=bool,
        )
        for t in taxonomies
    }
    for variant in args.variants:
        evaluate(variant, taxonomies, background, bg_texts, bg_stems, shipped)


if __name__ == "__main__":
    main()
