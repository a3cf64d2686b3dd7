"""Two names judged side by side in one clause, with no contrasting word between them:
"Love Veloria, hate Trekko", "L'appli Veloria est géniale et celle de Trekko une horreur".

The pipeline cuts a sentence naming several brands at contrasting words ("mais", "but");
without one, both names would get the sentence's label. Here such a clause is cut at the
last coordinator between the two names (a comma, "and", "et", "&", "/", a dash) into two
pieces, one per name, each with words of its own besides the name. The pipeline embeds
the pieces with the rest and uses them only when the model reads them as opposites (one
positive, the other negative): "I bought a Veloria and a Trekko helmet, both great" keeps
the sentence's label for both, since "I bought a Veloria" reads neutral.

A piece may only echo or deny what the other says, with no judgement of its own for the
model to read: "Veloria rocks and so does Trekko", "Trekko a perdu mon colis, Veloria
aussi" (an echo: the same label for both), "Veloria support answered in 5 minutes, Trekko
never did", "Contrairement à Trekko, Veloria a répondu" (a denial: the opposite label).
Such pieces are marked (`relation`, `elliptical`): the pipeline judges the other piece and
gives the elliptical name the same or the mirrored reading; a denial that the model reads
as polar while the other piece reads neutral ("Trekko never did": negative) judges the
other side instead, mirrored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.analyzer.brands.tagging import TagResult
from services.analyzer.sentiment.expressions import normalise

_COORDINATOR = re.compile(r"\s*(?:,?\s*\b(?:and|et)\b|,|&|/|\s[-–—]\s)\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_NAME = "@"  # the name in an elliptical piece, as matched below (normalised text)
_AUX = r"(?:does|did|do|is|was|are|were|has|had|have|can|could|will|would)"
_NOT = r"(?:n't|not)"
# Matched on the normalised piece, its name written `_NAME`, trailing punctuation gone.
_ECHO = re.compile(
    rf"^(?:(?:and\s+)?so\s+{_AUX}\s+@|@\s+(?:{_AUX}\s+)?(?:too|as\s+well|also)"
    r"|same\s+(?:for|with|goes\s+for|here\s+with)\s+@|ditto\s+(?:for\s+)?@"
    r"|@\s+(?:aussi|egalement|itou|pareil|idem|de\s+meme|tout\s+autant)"
    r"|(?:pareil|idem|meme\s+chose|de\s+meme)\s+(?:pour|avec|chez)\s+@"
    r"|(?:tout\s+)?comme\s+@|(?:exactement\s+)?comme\s+chez\s+@)$"
)
_DENIAL = re.compile(  # an auxiliary alone, not a verb: "Trekko never disappoints" judges
    rf"^(?:@\s+(?:never\s+{_AUX}|{_AUX}\s*{_NOT}|{_AUX}\s+never|never)"
    r"(?:\s+(?:either|though|at\s+all))?"
    r"|(?:but\s+|and\s+|yet\s+)?not\s+@|@,?\s+not\s+(?:so\s+much|really|at\s+all)"
    r"|unlike\s+@|(?:mais\s+|et\s+)?pas\s+(?:chez\s+)?@"
    r"|@\s+(?:non|pas|jamais|toujours\s+pas|pas\s+du\s+tout|beaucoup\s+moins)"
    r"|@\s+(?:ne\s+|n')(?:l'|le\s+|la\s+|les\s+|y\s+|en\s+)?(?:\w+\s+)?(?:jamais|pas|plus)"
    r"(?:\s+(?:fait|ete|su|pu|du\s+tout))?"
    r"|contrairement\s+a\s+@|a\s+l'inverse\s+de\s+@|au\s+contraire\s+de\s+@)$"
)
_TRAILING = re.compile(r"[\s.!?,;:…]+$")

JUDGED = "judged"  # each piece judges its own name
ECHO = "echo"
DENIAL = "denial"


@dataclass(frozen=True)
class Pieces:
    """A clause cut between two names: each name with its piece."""

    first: str
    first_piece: str
    second: str
    second_piece: str
    relation: str = JUDGED  # or ECHO, DENIAL: one piece only echoes or denies the other
    elliptical: str | None = None  # the name whose piece echoes or denies


def _relation(piece: str, name_as_written: str) -> str | None:
    """ECHO or DENIAL when `piece` (holding the name as written) only echoes or denies."""
    text = normalise(_TRAILING.sub("", piece.replace(name_as_written, _NAME)))
    text = " ".join(text.split())
    if _ECHO.match(text):
        return ECHO
    if _DENIAL.match(text):
        return DENIAL
    return None


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
        first_name, second_name = text[first.start : first.end], text[second.start : second.end]
        if not (_own_words(first_piece, first_name) and _own_words(second_piece, second_name)):
            continue
        pieces = Pieces(first.name, first_piece, second.name, second_piece)
        for name, piece, written in (
            (second.name, second_piece, second_name),
            (first.name, first_piece, first_name),
        ):
            relation = _relation(piece, written)
            if relation:
                pieces = dataclasses.replace(pieces, relation=relation, elliptical=name)
                break
        found.append(pieces)
    return found
