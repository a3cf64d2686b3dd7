"""Hints for filters that can match nothing: `brand:Velorya`, `topic:livraison` (no such
topic), `lang:french`. Such a query is valid, so it is not refused; its answer is empty
for a reason a person can fix, so the API and the CLI say it next to the results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from services.core.brand_names import ROLES, BrandNames, Role
from services.core.query.ast import TOWARD_FIELDS, And, FieldFilter, Node, Not, Or
from services.core.text import fold_keyword

_ISO_639_1 = re.compile(r"^[a-z]{2}$")
# Language names people type for the codes mentions carry (folded, so "français" too).
_LANGUAGE_NAMES = {
    "french": "fr",
    "francais": "fr",
    "english": "en",
    "anglais": "en",
    "german": "de",
    "allemand": "de",
    "deutsch": "de",
    "spanish": "es",
    "espagnol": "es",
    "italian": "it",
    "italien": "it",
    "portuguese": "pt",
    "portugais": "pt",
    "dutch": "nl",
    "neerlandais": "nl",
}


CHECKED_FIELDS: Final = frozenset({"lang", "brand", "competitor", "topic", *TOWARD_FIELDS})


@dataclass(frozen=True, slots=True)
class Known:
    """The names filters compare with: the workspace's brands and competitors (names
    as mentions carry them, with their aliases) and the topic taxonomy."""

    names: BrandNames
    topics: Sequence[str]


def field_filters(node: Node) -> Iterator[FieldFilter]:
    """Every `field:value` of a tree, negated ones included."""
    match node:
        case FieldFilter():
            yield node
        case And(children) | Or(children):
            for child in children:
                yield from field_filters(child)
        case Not(child):
            yield from field_filters(child)


def query_warnings(query: Node, known: Known) -> list[str]:
    """One line per filter of `query` that names nothing known, saying what to write."""
    warnings: list[str] = []
    for flt in field_filters(query):
        line = _warning(flt, known)
        if line and line not in warnings:
            warnings.append(line)
    return warnings


def name_warning(name: str, known: Known, *, label: str) -> str | None:
    """A line, starting with `label`, when `name` is no brand or competitor
    (`stats/sentiment?toward=`)."""
    return _name_warning(name, ROLES, known=known, label=label)


def _warning(flt: FieldFilter, known: Known) -> str | None:
    match flt.field:
        case "lang":
            return _lang_warning(flt)
        case "brand":
            return _name_warning(flt.value, ("brand",), known=known, flt=flt)
        case "competitor":
            return _name_warning(flt.value, ("competitor",), known=known, flt=flt)
        case "topic":
            return _topic_warning(flt, known.topics)
        case field if field in TOWARD_FIELDS:
            return _name_warning(flt.value, ROLES, known=known, flt=flt)
    return None


def _matches(value: str, names: Sequence[str], prefix: bool) -> bool:
    """Whether `value` is (or, with `prefix`, starts) one of `names`, folded."""
    folded = [fold_keyword(n) for n in names]
    return any(n.startswith(value) for n in folded) if prefix else value in folded


def _name_warning(
    value: str,
    roles: Sequence[Role],
    *,
    known: Known,
    flt: FieldFilter | None = None,
    label: str = "",
) -> str | None:
    value = fold_keyword(value)
    prefix = flt.prefix if flt else False
    found = known.names.find(value, roles, prefix=prefix)
    if found is not None and not found.by_alias:
        return None
    shown = f"{flt.field}:{flt.value}{'*' if prefix else ''}" if flt else label
    if found is not None:
        use = f"{flt.field}:{_quoted(found.name)}" if flt else repr(found.name)
        return f"{shown}: '{value}' is an alias of {found.name}; mentions carry the name: use {use}"
    other = known.names.find(value, prefix=prefix)
    if flt and other is not None and not other.by_alias:
        return f"{shown}: this is a {other.role}, not a {roles[0]}: use {other.role}:{flt.value}"
    return f"{shown}: " + known.names.unknown_message(value, roles, shown=f"'{value}'")


def _topic_warning(flt: FieldFilter, topics: Sequence[str]) -> str | None:
    if _matches(flt.value, topics, flt.prefix):
        return None
    listed = ", ".join(topics) or "none: add some in the workspace YAML or with `veille topics add`"
    return f"topic:{flt.value}: no topic '{flt.value}' (topics: {listed})"


def _lang_warning(flt: FieldFilter) -> str | None:
    if flt.prefix or _ISO_639_1.match(flt.value):
        return None
    code = _LANGUAGE_NAMES.get(flt.value)
    line = f"lang:{flt.value}: lang takes an ISO 639-1 code such as fr or en"
    return f"{line}: use lang:{code}" if code else line


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name
