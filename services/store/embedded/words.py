"""The words of a text as the index holds them: `tokenize`, memoized per piece."""

from __future__ import annotations

from functools import lru_cache

from services.core.text import tokenize


@lru_cache(maxsize=100_000)
def _piece_words(piece: str) -> str:
    return " ".join(tokenize(piece))  # "" when the piece has no word: filtered out below


def index_words(text: str) -> str:
    """`" ".join(tokenize(text))`, computed per whitespace-separated piece, memoized.

    Equal because folding works character by character and turns no whitespace into
    a word character, so no word spans a space (tests/store/test_embedded_index.py
    checks it on random text). Words repeat a lot, so this is several times faster
    on accented text, where folding is slowest.
    """
    return " ".join(filter(None, map(_piece_words, text.split())))
