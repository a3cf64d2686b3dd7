"""Query translation: push what a platform's search understands, filter the rest here.

A source's query is parsed once (`services.core.query.parse_query`). The pushed-down
part must never lose a mention the query accepts, so only constraints that narrow
soundly go to the platform: words, phrases (as words where the platform has no
phrase search), `NEAR` as both its sides, `OR` where the platform has one, and the
field filters it maps (`author:` -> `from:`). `NOT`, prefixes and everything else are
dropped from the pushed query, i.e. the platform returns more than asked.

Every item is then checked here with `services.core.query.matches` on the mention
it becomes, so what is stored is exactly what the query says. Filters on what only
analysis knows (`brand:`, `competitor:`, `sentiment:`, `topic:`, and `lang:` on an
item whose platform declares no language) cannot be decided at collection time: they
count as true where they would keep an item and false under a `NOT`, so collection
keeps a superset and the analyzer, which applies the source's query again on the
analyzed mention, drops the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from services.core.models import Mention, RawItem
from services.core.query import Node, matches
from services.core.query.ast import (
    And,
    FieldFilter,
    MatchAll,
    Near,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
)

ANALYSIS_FIELDS = frozenset({"brand", "competitor", "sentiment", "topic"})
_TRUE: Node = MatchAll()
_FALSE: Node = Not(MatchAll())


@dataclass(frozen=True)
class Pushdown:
    """What of the query language a platform's search syntax expresses."""

    or_operator: str | None = None  # " OR ", " | "; None: no OR, never pushed
    phrases: bool = True  # '"a b"' searches the phrase
    fields: Mapping[str, str] = field(default_factory=dict)  # "author" -> "from:"


def push_down(node: Node, pushdown: Pushdown) -> str:
    """The platform search text for `node` ('' when nothing can be pushed)."""
    text = _push(node, pushdown)
    if text and text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1]
    return text or ""


def _push(node: Node, p: Pushdown) -> str | None:
    """The pushed text of `node`, None when it does not narrow the search."""
    match node:
        case Term(word):
            return _word(word, p)
        case Phrase(words):
            if p.phrases:
                return '"' + " ".join(words) + '"'
            return " ".join(w for w in (_word(x, p) for x in words) if w)
        case Near(left, right, _distance):
            return _push(And((_operand(left), _operand(right))), p)
        case FieldFilter(name, value, prefix):
            operator = p.fields.get(name)
            if operator is None or prefix or not value:
                return None
            return operator + (f'"{value}"' if " " in value else value)
        case And(children):
            parts = [part for c in children if (part := _push(c, p))]
            return " ".join(parts) if parts else None
        case Or(children):
            if p.or_operator is None:
                return None
            alternatives = [_push(c, p) for c in children]
            if not all(alternatives):
                return None  # one unconstrained alternative: the OR cannot narrow
            return "(" + p.or_operator.join(a for a in alternatives if a) + ")"
        case Prefix() | Not() | MatchAll():
            return None
    raise TypeError(f"not a query node: {node!r}")


def _operand(operand: tuple[Term | Prefix, ...]) -> Node:
    return operand[0] if len(operand) == 1 else Or(operand)


def _word(word: str, p: Pushdown) -> str | None:
    if word.isalnum():
        return word
    return f'"{word}"' if p.phrases else None


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def relax(node: Node, unknown: frozenset[str], *, positive: bool = True) -> Node:
    """`node` with filters on `unknown` fields made permissive (see the module doc)."""
    match node:
        case FieldFilter(name, _value, _prefix) if name in unknown:
            return _TRUE if positive else _FALSE
        case Not(child):
            return Not(relax(child, unknown, positive=not positive))
        case And(children):
            return And(tuple(relax(c, unknown, positive=positive) for c in children))
        case Or(children):
            return Or(tuple(relax(c, unknown, positive=positive) for c in children))
    return node


def item_mention(item: RawItem) -> Mention:
    """The mention `item` becomes, with the language the platform declares."""
    return item.to_mention().model_copy(update={"language": item.language})


def local_filter(node: Node) -> Callable[[RawItem], bool]:
    """A predicate keeping the items that may match `node` (see the module doc)."""
    with_lang = relax(node, ANALYSIS_FIELDS)
    without_lang = relax(node, ANALYSIS_FIELDS | {"lang"})

    def keep(item: RawItem) -> bool:
        return matches(with_lang if item.language else without_lang, item_mention(item))

    return keep
