"""Brand and competitor tagging with spaCy's PhraseMatcher on folded tokens."""

from __future__ import annotations

import pytest

from services.analyzer.brands import tagging as brands
from services.analyzer.brands.tagging import BrandTagger, fold_aligned
from services.core.models import Brand, Competitor


@pytest.fixture(scope="module")
def tagger() -> BrandTagger:
    return BrandTagger(
        [
            Brand(
                name="Veloria",
                aliases=["@veloria", "#veloria", "Veloria E-Bike 500"],
                exclusions=["Veloria Street"],
                competitors=["Trekko", "Orange"],
            ),
            Brand(name="Société Générale", aliases=["societe generale", "SocGen"]),
        ],
        [
            Competitor(name="Trekko", aliases=["Trekko Bikes", "@trekko_fr"]),
            Competitor(name="Orange", exclusions=["jus d'orange", "orange mécanique"]),
            Competitor(name="Orange Bank"),
        ],
    )


def test_name_and_canonical_result(tagger: BrandTagger) -> None:
    result = tagger.tag("J'adore mon veloria, mais le SAV de trekko est une catastrophe")
    assert result.brands == ["Veloria"]
    assert result.competitors == ["Trekko"]
    assert result.names == ["Veloria", "Trekko"]


@pytest.mark.parametrize(
    "text",
    ["SOCIÉTÉ GÉNÉRALE augmente ses frais", "la société générale", "Societe Generale", "#SocGen"],
)
def test_accents_and_case_do_not_matter(tagger: BrandTagger, text: str) -> None:
    assert tagger.tag(text).brands == ["Société Générale"]


@pytest.mark.parametrize(
    "text",
    [
        "merci @Veloria !",
        "#veloria au top",
        "#VELORIA",
        "(veloria)",
        "Veloria's new bike",
        "l'Veloria",
        "VÉLORIA",
    ],
)
def test_handles_hashtags_and_punctuation(tagger: BrandTagger, text: str) -> None:
    assert tagger.tag(text).brands == ["Veloria"]


@pytest.mark.parametrize(
    "text", ["veloriax is not us", "#velorialove", "@veloria_fr", "https://veloria.example/x", ""]
)
def test_only_whole_tokens_match(tagger: BrandTagger, text: str) -> None:
    assert tagger.tag(text).brands == []


def test_multi_word_alias_and_spans_point_into_the_original_text(tagger: BrandTagger) -> None:
    text = "Essai du VÉLORIA E-Bike 500 et de chez Trekko Bikes"
    result = tagger.tag(text)
    assert result.brands == ["Veloria"]
    assert result.competitors == ["Trekko"]
    assert [text[s.start : s.end] for s in result.spans] == ["VÉLORIA E-Bike 500", "Trekko Bikes"]
    assert [s.kind for s in result.spans] == ["brand", "competitor"]


def test_spans_stay_aligned_when_folding_changes_length(tagger: BrandTagger) -> None:
    text = "Œuvre d'art ﬁnale: la Société Générale sponsorise"
    folded, index = fold_aligned(text)
    assert index is not None and len(index) == len(folded)
    (span,) = tagger.tag(text).spans
    assert text[span.start : span.end] == "Société Générale"


def test_exclusions(tagger: BrandTagger) -> None:
    assert tagger.tag("Orange augmente ses prix").competitors == ["Orange"]
    assert tagger.tag("un jus d'orange pressé").competitors == []
    assert tagger.tag("UN JUS D’ORANGE").competitors == []
    assert tagger.tag("Orange Mécanique, le film").competitors == []
    # Another, genuine occurrence in the same text still counts.
    assert tagger.tag("un jus d'orange chez Orange").competitors == ["Orange"]
    assert tagger.tag("la Veloria Street est sortie").brands == []


def test_longest_name_wins(tagger: BrandTagger) -> None:
    result = tagger.tag("Orange Bank ouvre une agence")
    assert result.competitors == ["Orange Bank"]
    assert [s.name for s in result.spans] == ["Orange Bank"]


def test_brand_and_competitor_in_one_text(tagger: BrandTagger) -> None:
    result = tagger.tag("@trekko_fr vs @veloria : Orange sponsorise les deux")
    assert result.brands == ["Veloria"]
    assert result.competitors == ["Trekko", "Orange"]
    assert len(result.spans_of("Veloria")) == 1


def test_batch_agrees_with_one_by_one(tagger: BrandTagger) -> None:
    texts = ["veloria", "rien", "Trekko et Orange", "jus d'orange", "SocGen"] * 50
    assert tagger.tag_many(texts) == [tagger.tag(t) for t in texts]


def test_empty_workspace_tags_nothing() -> None:
    empty = BrandTagger([], [])
    assert empty.empty
    assert empty.tag("Veloria").names == []


def test_the_vocabulary_is_renewed_without_changing_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(brands, "_REFRESH_AFTER_TEXTS", 3)
    tagger = BrandTagger([Brand(name="Veloria", aliases=["@veloria"])], [])
    texts = [f"mot{i} unique{i} @veloria" for i in range(10)]
    first_vocab = tagger._nlp.vocab
    assert [tagger.tag(t).brands for t in texts] == [["Veloria"]] * 10
    assert tagger._nlp.vocab is not first_vocab
