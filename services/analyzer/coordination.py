"""Two names judged side by side in one clause, with no contrasting word between them:
"Love Veloria, hate Trekko", "L'appli Veloria est géniale et celle de Trekko une horreur".

The pipeline cuts a sentence naming several brands at contrasting words ("mais", "but");
without one, both names would get the sentence's label. Here such a clause is cut at the
last coordinator between the two names (a comma, "and", "et", "&", "/", a dash) into two
pieces, one per name, each with words of its own besides the name. The pipeline embeds
the pieces with the rest and uses them only when the model reads them as opposites (one
positive, the other negative): "I bought a Veloria and a Trekko helmet, both great" keeps
the sentence's label for both, since "I bought a Veloria" reads neutral.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.analyzer.brands import TagResult

_COORDINATOR = re.compile(r"\s*(?:,?\s*\b(?:and|et)\b|,|&|/|\s[-–—]\s)\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Pieces:
    """A clause cut between two names: each name with its piece."""

    first: str
    first_piece: str
    second: str
    second_piece: str


def _own_words(piece: str, name: str) -> bool:
    """Whether `piece` holds words besides the name written in it."""
    return len(_WORD.findall(piece)) > len(_WORD.findall(name))


def side_by_side(text: str, tags: TagResult, clauses: Sequence[tuple[int, int]]) -> list[Pieces]:
    """The clauses (offsets into `text`) that name two different names, once each and
    nowhere else in the text, cut into a piece for each at the last coordinator between
    them when both pieces have words of their own."""
    found: list[Pieces] = []
    for start, end in clauses:
        inside = [sp for sp in tags.spans if start <= sp.start and sp.end <= end]
        if len(inside) != 2 or inside[0].name == inside[1].name:
            continue
        first, second = inside
        if len(tags.spans_of(first.name)) + len(tags.spans_of(second.name)) != 2:
            continue  # named elsewhere too: their usual passages stand
        cuts = list(_COORDINATOR.finditer(text, first.end, second.start))
        if not cuts:
            continue
        first_piece = text[start : cuts[-1].start()].strip()
        second_piece = text[cuts[-1].end() : end].strip()
        if _own_words(first_piece, text[first.start : first.end]) and _own_words(
            second_piece, text[second.start : second.end]
        ):
            found.append(Pieces(first.name, first_piece, second.name, second_piece))
    return found
