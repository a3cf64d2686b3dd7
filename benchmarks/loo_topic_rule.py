"""Could each workspace choose its own topic rule from its own examples? Leave-one-out check.

The taxonomy heads decide with one fixed rule (a logit of at least TAXONOMY_THRESHOLD and
within TAXONOMY_SPREAD of the best topic), chosen once on labelled mentions for the example
taxonomy. A workspace has no labelled mentions, only its taxonomy's anchors (descriptions
and examples) and the off-topic background. This scores each anchor with heads trained
without it, and each background text with heads trained without its fold, picks the rule
with the best F1 on those scores, and prints what that rule and the fixed one give on the
held-out labelled mentions of `eval_topics.py`.

    PYTHONPATH=. .venv/bin/python benchmarks/loo_topic_rule.py [--corpora ../shared/corpora]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.eval_topics import report, setup_arguments, topic_setup
from services.analyzer.topics.anchors import CalibratedTopic, TopicAssigner, Vectors
from services.analyzer.topics.classifier import (
    TAXONOMY_L2,
    TAXONOMY_POSITIVE_WEIGHT,
    TAXONOMY_SPREAD,
    TAXONOMY_THRESHOLD,
    TopicClassifier,
    TopicHead,
)

THRESHOLDS = [round(t, 2) for t in np.arange(-4.0, 1.01, 0.25)]
SPREADS = (0.5, 1.0, 1.5, 2.0, 99.0)


def taxonomy_heads(assigner: TopicAssigner, background: Vectors) -> TopicClassifier:
    empty = np.zeros((0, background.shape[1]), dtype=np.float32)
    return TopicClassifier.train(
        assigner,
        background,
        empty,
        [],
        l2=TAXONOMY_L2,
        positive_weight=TAXONOMY_POSITIVE_WEIGHT,
        threshold=0.0,
    )


def fires(scores: np.ndarray, threshold: float, spread: float) -> np.ndarray:
    return (scores >= threshold) & (scores >= scores.max() - spread)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    setup_arguments(parser)
    setup = topic_setup(parser.parse_args())
    assigner, off_topic = setup.assigner, setup.off_topic

    anchor_scores, anchor_topic = [], []
    for owner, topic in enumerate(assigner.topics):
        for left_out in range(len(topic.anchors)):
            kept = [
                CalibratedTopic(
                    t.name, np.delete(t.anchors, left_out, 0) if t is topic else t.anchors, 0.0
                )
                for t in assigner.topics
            ]
            model = taxonomy_heads(
                TopicAssigner(kept, centre=assigner.centre, margin=assigner.margin), off_topic
            )
            weights = np.stack([h.weights for h in model.heads], axis=1)
            biases = np.array([h.bias for h in model.heads])
            anchor_scores.append(topic.anchors[left_out] @ weights + biases)  # already centred
            anchor_topic.append(owner)
    background_scores = np.zeros((len(off_topic), len(assigner.topics)))
    for fold in np.array_split(np.random.RandomState(0).permutation(len(off_topic)), 5):
        model = taxonomy_heads(assigner, np.delete(off_topic, fold, 0))
        background_scores[fold] = model.scores(off_topic[fold])

    def loo_f1(threshold: float, spread: float) -> float:
        tp = fp = fn = 0
        for scores, owner in zip(anchor_scores, anchor_topic, strict=True):
            hit = fires(scores, threshold, spread)
            tp, fp, fn = tp + hit[owner], fp + hit.sum() - hit[owner], fn + (not hit[owner])
        fp += sum(int(fires(s, threshold, spread).sum()) for s in background_scores)
        return 2 * tp / max(2 * tp + fp + fn, 1)

    ranked = sorted(((loo_f1(t, s), t, s) for t in THRESHOLDS for s in SPREADS), reverse=True)
    print(f"{len(anchor_scores)} anchors left out one by one, {len(off_topic)} background texts")
    for f1, t, s in ranked[:5]:
        print(f"  leave-one-out F1 {f1:.3f}: threshold {t}, spread {s}")

    full = taxonomy_heads(assigner, off_topic)
    heldout = setup.split("heldout")
    gold = [set(setup.rows[i]["topics"]) for i in heldout]
    _, best_t, best_s = ranked[0]
    for title, threshold, spread in (
        ("rule chosen by leave-one-out", best_t, best_s),
        ("fixed rule (shipped)", TAXONOMY_THRESHOLD, TAXONOMY_SPREAD),
    ):
        heads = [TopicHead(h.name, h.weights, h.bias, float(threshold)) for h in full.heads]
        model = TopicClassifier(heads, full.centre, spread=spread)
        report(f"held-out, {title}", assigner.names, gold, model.assign(setup.vectors[heldout]))


if __name__ == "__main__":
    main()
