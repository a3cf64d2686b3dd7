"""Folding, tokenizing and deterministic mention ids."""

from __future__ import annotations

import pytest

from services.core.ids import canonical_url, mention_id
from services.core.text import fold, tokenize


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Société Générale", "societe generale"), ("ŒUVRE", "oeuvre"), ("Straße", "strasse")],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_tokenize_splits_on_punctuation_and_keeps_digits() -> None:
    assert tokenize("J'adore l'e-bike #Veloria (3.5 kW) @trekko!") == [
        "j",
        "adore",
        "l",
        "e",
        "bike",
        "veloria",
        "3",
        "5",
        "kw",
        "trekko",
    ]


def test_tokenize_drops_absurdly_long_tokens() -> None:
    assert tokenize("a " + "x" * 100 + " b") == ["a", "b"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "https://WWW.Example.org:443/a/?utm_source=x&b=2&a=1#top",
            "https://www.example.org/a?a=1&b=2",
        ),
        ("http://example.org", "http://example.org/"),
        ("https://example.org/p?fbclid=abc", "https://example.org/p"),
    ],
)
def test_canonical_url(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


def test_mention_id_is_stable_and_prefers_platform_id() -> None:
    by_url = mention_id(source_kind="feed", platform_id=None, url="https://x.org/a?utm_medium=rss")
    assert by_url == mention_id(source_kind="import", platform_id=None, url="https://x.org/a")
    assert len(by_url) == 32
    by_id = mention_id(source_kind="reddit", platform_id="t3_abc", url="https://x.org/a")
    assert by_id != by_url
    assert by_id == mention_id(source_kind="reddit", platform_id="t3_abc", url=None)
    with pytest.raises(ValueError, match="platform id or a URL"):
        mention_id(source_kind="feed", platform_id=None, url=None)
