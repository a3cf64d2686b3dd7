"""The words of a mention as both stores index them, memoized per whitespace-separated piece.

Both the embedded index and Elasticsearch documents hold a text's folded index words
(`tokenize`) and the mention's content words (`content_words`, for top terms). Each piece of
text is looked up once for both: words repeat a lot, and folding accented text and sorting
out function words are most of the cost of writing a mention to either store.

Computing per piece is exact because no word spans whitespace: folding and tokenizing work
character by character, and so does lower-casing but for a final sigma, whose context ends
at whitespace (tests/store/test_elastic_documents.py and test_embedded_index.py check it on
random text).
"""

from __future__ import annotations

from itertools import chain
from typing import Final

from services.core.function_words import content_words
from services.core.text import tokenize

_CACHED_PIECE_CHARS: Final = 64  # longer pieces (URLs, hostile runs) are not kept
_CACHED_PIECES: Final = 200_000

# piece -> (its index words joined, "" when it has none; its content words). Emptied when
# full. A plain dict read through `.get` in a comprehension: this runs for every word of
# every mention written, and is faster than an lru_cache's bookkeeping.
_pieces: dict[str, tuple[str, tuple[str, ...]]] = {}


def _piece(piece: str) -> tuple[str, tuple[str, ...]]:
    found = " ".join(tokenize(piece)), tuple(content_words(piece))
    if len(piece) <= _CACHED_PIECE_CHARS:
        if len(_pieces) >= _CACHED_PIECES:
            _pieces.clear()
        _pieces[piece] = found
    return found


def mention_words(title: str, text: str) -> tuple[str, str, list[str]]:
    """(`" ".join(tokenize(title))`, the same of `text`, `content_words(title, text)`), from one
    look-up per piece."""
    get = _pieces.get
    title_parts = [get(piece) or _piece(piece) for piece in title.split()]
    text_parts = [get(piece) or _piece(piece) for piece in text.split()]
    terms = chain.from_iterable(
        [part[1] for part in title_parts] + [part[1] for part in text_parts]
    )
    return (
        " ".join([part[0] for part in title_parts if part[0]]),
        " ".join([part[0] for part in text_parts if part[0]]),
        list(dict.fromkeys(terms)),
    )
