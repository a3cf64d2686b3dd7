"""The query language's syntax tree: one tree every backend evaluates.

Words are stored already folded (see `services.core.text`), so backends compare
them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from services.core.text import fold_keyword


@dataclass(frozen=True, slots=True)
class Term:
    """A single word, matched in the title or the text."""

    word: str


@dataclass(frozen=True, slots=True)
class Prefix:
    """A trailing wildcard (`fairph*`): any word starting with `prefix`."""

    prefix: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """An exact phrase: the words next to each other, in order, in one field."""

    words: tuple[str, ...]


NearOperand: TypeAlias = tuple[Term | Prefix, ...]
"""Alternatives on one side of a NEAR: `(a OR b*) NEAR/3 c`."""


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides within `distance` words of each other, in either order, in one field.

    `distance` counts the words allowed between them: `a NEAR/0 b` means adjacent.
    """

    left: NearOperand
    right: NearOperand
    distance: int


# negative:Veloria: the sentiment toward that brand or competitor (its brand sentiment,
# or the mention's own when it has none for the name); one field per label.
TOWARD_FIELDS: Final = ("negative", "neutral", "positive")

# Field filters compare whole keyword values, folded like words.
FILTER_FIELDS: Final = (
    "lang",
    "brand",
    "competitor",
    "source",
    "sentiment",
    "author",
    "site",
    "topic",
    "story",  # story:ID, every copy of one story (a repost, retweet, syndicated article)
    "community",  # community:r/velo, community:forum.velo.fr (see services.core.communities)
    "is",  # is:duplicate, is:original (see Mention.is_duplicate)
    "state",  # state:new, state:"in progress" (see services.core.triage)
    "tag",  # tag:legal, a triage tag
    "assignee",  # assignee:NAME, assignee:me (the caller, resolved by the API)
    *TOWARD_FIELDS,
)


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """`field:value`; with `prefix`, any value starting with `value` (`author:jean*`)."""

    field: str
    value: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty query: every mention."""


Node: TypeAlias = Term | Prefix | Phrase | Near | FieldFilter | And | Or | Not | MatchAll


ME: Final = "me"  # assignee:me, replaced by the caller's name before a store sees it


def resolve_me(node: Node, me: str) -> Node:
    """`node` with every `assignee:me` naming `me` (folded) instead."""
    match node:
        case FieldFilter("assignee", value, False) if value == ME:
            return FieldFilter("assignee", fold_keyword(me))
        case And(children):
            return And(tuple(resolve_me(c, me) for c in children))
        case Or(children):
            return Or(tuple(resolve_me(c, me) for c in children))
        case Not(child):
            return Not(resolve_me(child, me))
    return node


def mentions_me(node: Node) -> bool:
    """Whether the tree has an `assignee:me` still to resolve."""
    match node:
        case FieldFilter("assignee", value, False):
            return value == ME
        case And(children) | Or(children):
            return any(mentions_me(c) for c in children)
        case Not(child):
            return mentions_me(child)
    return False


def to_text(node: Node) -> str:
    """Renders a tree back to query text (folded), for logs and error messages."""
    match node:
        case Term(word):
            return word
        case Prefix(prefix):
            return prefix + "*"
        case Phrase(words):
            return '"' + " ".join(words) + '"'
        case Near(left, right, distance):
            return f"{_operand_text(left)} NEAR/{distance} {_operand_text(right)}"
        case FieldFilter(field, value, prefix):
            shown = f'"{value}"' if " " in value else value
            return f"{field}:{shown}{'*' if prefix else ''}"
        case And(children):
            return "(" + " AND ".join(to_text(c) for c in children) + ")"
        case Or(children):
            return "(" + " OR ".join(to_text(c) for c in children) + ")"
        case Not(child):
            inner = to_text(child)
            return "NOT " + (
                inner
                if isinstance(child, And | Or | Term | Prefix | Phrase | FieldFilter)
                else f"({inner})"
            )
        case MatchAll():
            return "*"
    raise TypeError(f"not a query node: {node!r}")


def _operand_text(operand: NearOperand) -> str:
    parts = [to_text(alt) for alt in operand]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
