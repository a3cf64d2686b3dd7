"""Per-topic thresholds tuned on labelled mentions, on top of the background ones.

The background threshold (`TopicAssigner.calibrate`) bounds how often a topic tags
unrelated posts, but says nothing about near misses: a post about the bike's price
that also half-matches "after-sales". With a few labelled mentions per topic, each
topic's threshold is raised to the score that maximises F-beta on them (beta 0.5:
precision weighs more than recall, as a wrong tag in a report costs more trust than a
missed one). Thresholds are only ever raised, so the background bound still holds.

Works on the vectors the pipeline already has: no embedding here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from services.analyzer.topics.anchors import TopicAssigner, Vectors

DEFAULT_BETA = 0.5


def f_beta(tp: int, fp: int, fn: int, beta: float = DEFAULT_BETA) -> float:
    """F-beta from counts (0 when nothing is right)."""
    if tp == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)


def best_threshold(
    scores: Sequence[float], gold: Sequence[bool], floor: float, beta: float = DEFAULT_BETA
) -> float:
    """The threshold >= `floor` with the best F-beta on these scores; `floor` when no
    positive is labelled (nothing to learn from) or none is reachable."""
    values = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(gold, dtype=bool)
    if not truth.any():
        return floor
    best, best_f = floor, f_beta(*_counts(values >= floor, truth), beta=beta)
    for candidate in np.unique(values[values > floor]):
        score = f_beta(*_counts(values >= candidate, truth), beta=beta)
        if score > best_f:
            best, best_f = float(candidate), score
    return best


def _counts(predicted: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    tp = int((predicted & truth).sum())
    return tp, int((predicted & ~truth).sum()), int((~predicted & truth).sum())


def tune_thresholds(
    assigner: TopicAssigner,
    vectors: Vectors,
    labels: Sequence[Sequence[str]],
    *,
    beta: float = DEFAULT_BETA,
) -> TopicAssigner:
    """A copy of `assigner` whose thresholds are tuned on labelled mention vectors.

    `labels[i]` is the set of topics mention i is about (empty: about none). Topics
    the labels never mention keep their background threshold.
    """
    if len(vectors) != len(labels):
        raise ValueError(f"{len(vectors)} vectors but {len(labels)} label sets")
    unknown = {name for row in labels for name in row} - set(assigner.names)
    if unknown:
        raise ValueError(f"labels name topics not in the taxonomy: {sorted(unknown)}")
    scores = assigner.scores(vectors)
    # A topic below `margin` of the row's best is never given: tune on what can pass.
    eligible = scores >= scores.max(axis=1, keepdims=True) * assigner.margin
    tuned = []
    for i, topic in enumerate(assigner.topics):
        gold = [topic.name in row for row in labels]
        reachable = np.where(eligible[:, i], scores[:, i], -np.inf)
        threshold = best_threshold(list(reachable), gold, topic.threshold, beta)
        tuned.append(replace(topic, threshold=max(threshold, topic.threshold)))
    return TopicAssigner(tuned, centre=assigner.centre, margin=assigner.margin)
