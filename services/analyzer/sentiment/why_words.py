"""The words a mention's "why" shows (`Evidence.words`): those of the n-gram model and
the expressions that weighed most, less the ones that say nothing about the opinion.

Left out: the brand's own names and aliases (every mention about Veloria has "veloria":
it explains nothing), stop words (spaCy's French and English lists and our function
words, services.core.function_words) and numbers, written in figures or words ("trois",
"twenty"). A word or phrase goes only when each of its words is one of those: "pas
terrible" stays. Negations and verdicts that the stop lists hold ("pas", "nul", "never",
"nothing") stay: they are often the reason itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final, cast

from spacy.lang.en import lex_attrs as _english
from spacy.lang.en.stop_words import STOP_WORDS as _ENGLISH_STOP
from spacy.lang.fr import lex_attrs as _french
from spacy.lang.fr.stop_words import STOP_WORDS as _FRENCH_STOP

from services.core.evidence import WeightedWord
from services.core.function_words import STOP_WORDS as _FUNCTION_WORDS
from services.core.models import Sentiment
from services.core.text import tokenize

MAX_SHOWN: Final = 6  # words shown per label
CANDIDATES: Final = 3 * MAX_SHOWN  # asked of the model, so that MAX_SHOWN remain

# spaCy's number tests ("trois", "vingt", "twenty", "3,5"), untyped in spaCy.
_french_number = cast(Callable[[str], bool], _french.like_num)
_english_number = cast(Callable[[str], bool], _english.like_num)

# Stop-list words that carry the opinion: a negation, a verdict, a thanks.
_OPINION: Final = frozenset(
    tokenize(
        "pas ne ni nul nulle merci sans stop personne jamais rien non "
        "not no never nothing nobody none neither nor without please well top serious "
        "didn doesn don isn wasn weren aren hasn haven hadn won wouldn shouldn couldn mustn "
        "cannot cant dont didnt doesnt isnt wont"
    )
)
_STOP: Final = (
    frozenset(tokenize(" ".join([*_FRENCH_STOP, *_ENGLISH_STOP]))) | _FUNCTION_WORDS
) - _OPINION


_PUNCTUATION: Final = " '’`\"-–—.,;…"


def _says_nothing(token: str, names: frozenset[str]) -> bool:
    return (
        token in names
        or token in _STOP
        or len(token) < 2
        or token.isdigit()
        or _french_number(token)
        or _english_number(token)
    )


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The folded words of brand names and aliases ("@Veloria", "Veloria Paris")."""
    return frozenset(t for name in names for t in tokenize(name))


def shown_words(
    words: Sequence[WeightedWord], *, names: frozenset[str], limit: int = MAX_SHOWN
) -> list[WeightedWord]:
    """The first `limit` of `words` that say something: not only brand-name words
    (`name_words`), stop words and numbers."""
    kept = []
    for word in words:
        tokens = tokenize(word.text)  # none for an emoji or ":(": it stays, not a "'"
        if (not tokens and word.text.strip(_PUNCTUATION)) or not all(
            _says_nothing(t, names) for t in tokens
        ):
            kept.append(word)
    return kept[:limit]


def with_shown_words(sentiment: Sentiment, names: frozenset[str], *, cues: int = 0) -> Sentiment:
    """`sentiment` with its evidence words as shown; its first `cues` words (a
    comparison's "rather than") stay whatever they are."""
    evidence = sentiment.evidence
    if evidence is None or not evidence.words:
        return sentiment
    words = evidence.words[:cues] + shown_words(
        evidence.words[cues:], names=names, limit=MAX_SHOWN - cues
    )
    return sentiment.model_copy(update={"evidence": evidence.model_copy(update={"words": words})})
