"""Content words as written, and where a mention was said (communities)."""

from __future__ import annotations

import pytest

from services.core.communities import community_of
from services.core.function_words import content_words, is_function_word
from services.exports.formats import spreadsheet_safe
from tests.factories import make_mention


def test_content_words_keep_accents_and_skip_function_and_number_words() -> None:
    words = content_words(
        "Je suis DÉÇU : dix jours d'attente pour l'équipe, j'ai 2 vélos",
        "The delivery was late, ten days! I'm done with e-bikes aujourd'hui",
    )
    assert words == [
        "déçu",
        "jours",
        "attente",
        "équipe",
        "vélos",
        "delivery",
        "late",
        "days",
        "done",
        "e-bikes",
    ]


@pytest.mark.parametrize("word", ["le", "je", "the", "dix", "Ten", "été", "ne pas", "42", "x"])
def test_function_words(word: str) -> None:
    assert is_function_word(word)


@pytest.mark.parametrize("word", ["déçu", "livraison", "late", "SAV", "pas content"])
def test_words_that_say_something(word: str) -> None:
    assert not is_function_word(word)


@pytest.mark.parametrize(
    ("kind", "url", "source", "expected"),
    [
        ("reddit", "https://www.reddit.com/r/VeloTaf/comments/abc/title/", "reddit", "r/velotaf"),
        ("reddit", "https://old.reddit.com/r/velo", "reddit", "r/velo"),
        ("reddit", "https://www.reddit.com/user/jean/", "reddit", None),
        ("web", "https://forum.velo.fr:8443/t/42?page=2", "forum", "forum.velo.fr"),
        ("feed", "https://www.blog.example/post", "blog", "blog.example"),
        ("feed", None, "Lettre Vélo", "Lettre Vélo"),
        ("mastodon", "https://mastodon.social/@jean/1", "mastodon", None),
        ("youtube", "https://www.youtube.com/watch?v=x", "youtube", None),
    ],
)
def test_community_of(kind: str, url: str | None, source: str, expected: str | None) -> None:
    mention = make_mention(source_kind=kind, url=url, source_name=source)
    assert community_of(mention) == expected


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-2 jours", "'-2 jours"),
        ("@veloria", "'@veloria"),
        ("\t=cmd", "'\t=cmd"),
        ("＝HYPERLINK()", "'＝HYPERLINK()"),
        ("Veloria = top", "Veloria = top"),
        ("", ""),
    ],
)
def test_spreadsheet_safe(text: str, safe: str) -> None:
    assert spreadsheet_safe(text) == safe
