"""Hints for filters that can match nothing: `brand:Velorya`, `topic:livraison` (no such
topic), `lang:french`. Such a query is valid, so it is not refused; its answer is empty
for a reason a person can fix, so the API and the CLI say it next to the results.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

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

    brands: dict[str, list[str]]  # name -> aliases
    competitors: dict[str, list[str]]
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
    names = {**known.brands, **known.competitors}
    return _name_warning(name, names, role="brand or competitor", known=known, label=label)


def _warning(flt: FieldFilter, known: Known) -> str | None:
    match flt.field:
        case "lang":
            return _lang_warning(flt)
        case "brand":
            return _name_warning(flt.value, known.brands, role="brand", known=known, flt=flt)
        case "competitor":
            return _name_warning(
                flt.value, known.competitors, role="competitor", known=known, flt=flt
            )
        case "topic":
            return _topic_warning(flt, known.topics)
        case field if field in TOWARD_FIELDS:
            names = {**known.brands, **known.competitors}
            return _name_warning(flt.value, names, role="brand or competitor", known=known, flt=flt)
    return None


def _matches(value: str, names: Sequence[str], prefix: bool) -> bool:
    folded = [fold_keyword(n) for n in names]
    return any(n.startswith(value) for n in folded) if prefix else value in folded


def _name_warning(
    value: str,
    names: dict[str, list[str]],
    *,
    role: str,
    known: Known,
    flt: FieldFilter | None = None,
    label: str = "",
) -> str | None:
    value = fold_keyword(value)
    prefix = flt.prefix if flt else False
    if _matches(value, list(names), prefix):
        return None
    shown = f"{flt.field}:{flt.value}{'*' if prefix else ''}" if flt else label
    for name, aliases in names.items():
        if _matches(value, aliases, prefix):
            use = f"{flt.field}:{_quoted(name)}" if flt else repr(name)
            return f"{shown}: '{value}' is an alias of {name}; mentions carry the name: use {use}"
    if flt and flt.field == "brand" and _matches(value, list(known.competitors), prefix):
        return f"{shown}: this is a competitor, not a brand: use competitor:{flt.value}"
    if flt and flt.field == "competitor" and _matches(value, list(known.brands), prefix):
        return f"{shown}: this is a brand, not a competitor: use brand:{flt.value}"
    listed = "; ".join(
        f"{kind}: {', '.join(group) or 'none'}"
        for kind, group in (("brands", known.brands), ("competitors", known.competitors))
    )
    line = f"{shown}: no {role} is named '{value}' ({listed})"
    close = difflib.get_close_matches(value, [fold_keyword(n) for n in names], n=1)
    if close:
        original = next(n for n in names if fold_keyword(n) == close[0])
        line += f"; did you mean {original}?"
    return line


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
