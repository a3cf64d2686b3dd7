"""Content fingerprints: which mentions are exact duplicates of each other.

Two mentions are duplicates when their judged text (title and text, as the analyzer
reads them) is the same once case, accents and white space are folded away: a repost
of a tweet or an article syndicated on two sites. An analyst's correction of one
applies to all of them, now and when a new copy arrives.
"""

from __future__ import annotations

import hashlib
import re

from services.core.models import Mention
from services.core.query.ast import Phrase
from services.core.text import fold, tokenize

_SPACES = re.compile(r"\s+")
OPENING_WORDS = 8  # words of a text used to look its duplicates up in the index


def overall_text(mention: Mention) -> str:
    """Title and text as one text, without the title twice when the text repeats it:
    what the analyzer judges, and what a fingerprint is taken of."""
    title, text = mention.title.strip(), mention.text.strip()
    if not title or text.startswith(title):
        return text
    if not text:
        return title
    return f"{title}\n{text}"


def fingerprint_text(text: str) -> str:
    """A hex digest of `text` folded (case, accents) with white space collapsed."""
    normalized = _SPACES.sub(" ", fold(text)).strip()
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


def fingerprint(mention: Mention) -> str:
    """The fingerprint of a mention's judged text."""
    return fingerprint_text(overall_text(mention))


def opening_phrase(mention: Mention) -> Phrase | None:
    """A phrase query on the opening words of the mention's text (its title when it has
    no text): every duplicate matches it; None when there is no word to search."""
    words = tokenize(mention.text) or tokenize(mention.title)
    if not words:
        return None
    return Phrase(words=tuple(words[:OPENING_WORDS]))
