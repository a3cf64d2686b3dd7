"""Text normalisation shared by every component that compares words.

The query matcher, the embedded index and the brand tagger must agree on what a
"word" is, or a query would match a mention in one place and not in another. So
there is exactly one definition here: fold case and accents, then split on
anything that is not a letter or a digit.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters that NFKD does not decompose into a base letter plus accents.
_SPECIAL_FOLDS = str.maketrans(
    {
        "œ": "oe",
        "æ": "ae",
        "ß": "ss",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "’": "'",
    }
)

_WORD = re.compile(r"[^\W_]+")

# A token longer than this is noise (base64, hashes); the index would refuse it anyway.
MAX_TOKEN_LENGTH = 64


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    return _fold_uncached(word)


def _fold_uncached(text: str) -> str:
    lowered = text.casefold().translate(_SPECIAL_FOLDS)
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Returns `text` lower-cased with accents removed ("Société" -> "societe")."""
    if len(text) < 32:
        return _fold_word(text)
    return _fold_uncached(text)


def tokenize(text: str) -> list[str]:
    """Splits `text` into folded words, the unit every query and index works on."""
    return [t for t in _WORD.findall(fold(text)) if len(t) <= MAX_TOKEN_LENGTH]


def fold_keyword(value: str) -> str:
    """Folds a keyword value (author, brand, language) for exact, case-blind comparison."""
    return " ".join(fold(value).split())
