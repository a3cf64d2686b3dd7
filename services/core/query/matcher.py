"""Evaluates a query tree on one mention, in memory.

Used to filter collected items and to evaluate alert rules; every store must
return exactly the mentions this matcher accepts (tests/test_query_agreement.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from services.core.communities import community_of
from services.core.models import Mention
from services.core.query.ast import (
    TOWARD_FIELDS,
    And,
    FieldFilter,
    MatchAll,
    Near,
    NearOperand,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
)
from services.core.text import fold_keyword, tokenize
from services.core.triage import Triage


@dataclass
class MatchableMention:
    """A mention's words and keyword values, folded once for many queries."""

    mention: Mention

    @cached_property
    def fields(self) -> tuple[list[str], list[str]]:
        return tokenize(self.mention.title), tokenize(self.mention.text)

    @cached_property
    def words(self) -> frozenset[str]:
        title, text = self.fields
        return frozenset(title) | frozenset(text)

    def keywords(self, field: str) -> list[str]:
        """Folded values of a filter field, as the stores index them."""
        return keyword_values(self.mention, field)


def keyword_values(mention: Mention, field: str) -> list[str]:
    """Folded values a mention has for a filter field (`brand` -> its brands)."""
    match field:
        case "lang":
            return [fold_keyword(mention.language)] if mention.language else []
        case "brand":
            return [fold_keyword(b) for b in mention.brands]
        case "competitor":
            return [fold_keyword(c) for c in mention.competitors]
        case "source":
            return [fold_keyword(mention.source_name), fold_keyword(mention.source_kind)]
        case "sentiment":
            return [mention.sentiment.label.value] if mention.sentiment else []
        case "author":
            return [fold_keyword(mention.author)] if mention.author else []
        case "site":
            return site_suffixes(mention.site)
        case "topic":
            return [fold_keyword(t) for t in mention.topics]
        case "story":
            return [fold_keyword(mention.story_id)] if mention.story_id else []
        case "is":
            return ["duplicate" if mention.is_duplicate else "original"]
        case "community":
            place = community_of(mention)
            return [fold_keyword(place)] if place else []
        case "state" | "tag" | "assignee":
            return triage_keywords(mention.triage, field)
    if field in TOWARD_FIELDS:
        return [fold_keyword(name) for name in names_judged(mention, field)]
    raise ValueError(f"unknown field {field!r}")


TRIAGE_FIELDS = ("state", "tag", "assignee")


def triage_keywords(triage: Triage, field: str) -> list[str]:
    """Folded values of a triage filter field (`tag` -> the tags)."""
    match field:
        case "state":
            return [triage.state.value]
        case "tag":
            return [fold_keyword(t) for t in triage.tags]
        case "assignee":
            return [fold_keyword(triage.assignee)] if triage.assignee else []
    raise ValueError(f"not a triage field {field!r}")


def names_judged(mention: Mention, label: str) -> list[str]:
    """The brands and competitors the mention is `label` toward: by its sentiment toward
    each (`brand_sentiments`), or its overall sentiment for a name it has none for."""
    judged = []
    for name in [*mention.brands, *mention.competitors]:
        toward = mention.brand_sentiments.get(name, mention.sentiment)
        if toward is not None and toward.label.value == label:
            judged.append(name)
    return judged


def site_suffixes(host: str | None) -> list[str]:
    """`news.lemonde.fr` -> [`news.lemonde.fr`, `lemonde.fr`, `fr`]: site: matches any."""
    if not host:
        return []
    labels = host.lower().split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def matches(node: Node, mention: Mention | MatchableMention) -> bool:
    """True when `mention` satisfies the query `node`."""
    target = mention if isinstance(mention, MatchableMention) else MatchableMention(mention)
    return _eval(node, target)


def _eval(node: Node, m: MatchableMention) -> bool:
    match node:
        case MatchAll():
            return True
        case Term(word):
            return word in m.words
        case Prefix(prefix):
            return any(w.startswith(prefix) for w in m.words)
        case Phrase(words):
            return any(_has_phrase(field, words) for field in m.fields)
        case Near(left, right, distance):
            return any(_has_near(field, left, right, distance) for field in m.fields)
        case FieldFilter(field, value, prefix):
            values = m.keywords(field)
            if prefix:
                return any(v.startswith(value) for v in values)
            return value in values
        case And(children):
            return all(_eval(c, m) for c in children)
        case Or(children):
            return any(_eval(c, m) for c in children)
        case Not(child):
            return not _eval(child, m)
    raise TypeError(f"not a query node: {node!r}")


def _has_phrase(tokens: list[str], words: tuple[str, ...]) -> bool:
    n = len(words)
    first = words[0]
    return any(
        tokens[i] == first and tuple(tokens[i : i + n]) == words for i in range(len(tokens) - n + 1)
    )


def _operand_positions(tokens: list[str], operand: NearOperand) -> list[int]:
    positions = []
    for i, token in enumerate(tokens):
        for alt in operand:
            if (isinstance(alt, Term) and token == alt.word) or (
                isinstance(alt, Prefix) and token.startswith(alt.prefix)
            ):
                positions.append(i)
                break
    return positions


def _has_near(tokens: list[str], left: NearOperand, right: NearOperand, distance: int) -> bool:
    lefts = _operand_positions(tokens, left)
    if not lefts:
        return False
    rights = _operand_positions(tokens, right)
    return any(i != j and abs(i - j) - 1 <= distance for i in lefts for j in rights)
