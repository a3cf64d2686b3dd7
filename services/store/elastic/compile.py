"""Compiles query trees to the Elasticsearch query DSL, accepting what `matches` accepts.

Words are matched on the pre-tokenized `*_words` fields (see mapping.py). `a NEAR/n b`
wants two different positions at most `n` words apart, in either order: it becomes
two *ordered* `span_near` queries (a then b, b then a) with `slop: n`. Ordered spans
never overlap, so one occurrence of a word cannot serve as both sides, which an
unordered pair would allow. (`intervals` with `ordered: true, max_gaps: n` means the
same on a real cluster, but the noida-db emulator ignores `max_gaps` when both sides
are the same word: see deploy/elasticsearch/EMULATOR.md.)
"""

from __future__ import annotations

from typing import Any, Final

from services.core.query.ast import (
    FILTER_FIELDS,
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
from services.core.text import MAX_TOKEN_LENGTH
from services.core.triage import TriageState
from services.store.contracts import MentionFilter, StoryCopies
from services.store.elastic import mapping
from services.store.embedded.keys import epoch_us
from services.store.story_chain import NO_PREVIOUS

Query = dict[str, Any]

MATCH_ALL: Final[Query] = {"match_all": {}}
MATCH_NONE: Final[Query] = {"match_none": {}}


def _any(queries: list[Query]) -> Query:
    if not queries:
        return dict(MATCH_NONE)
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _all(queries: list[Query]) -> Query:
    if not queries:
        return dict(MATCH_ALL)
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"filter": queries}}


def compile_query(node: Node) -> Query:
    """Compiles one query tree; ValueError for an unknown filter field."""
    match node:
        case MatchAll():
            return dict(MATCH_ALL)
        case Term(word):
            return _any([{"term": {field: word}} for field in mapping.WORD_FIELDS])
        case Prefix(prefix):
            if len(prefix) > MAX_TOKEN_LENGTH:
                return dict(MATCH_NONE)  # no indexed word is that long
            return _any([{"prefix": {field: prefix}} for field in mapping.WORD_FIELDS])
        case Phrase(words):
            if not words:
                return dict(MATCH_NONE)
            if len(words) == 1:
                return compile_query(Term(words[0]))
            text = " ".join(words)
            return _any([{"match_phrase": {field: text}} for field in mapping.WORD_FIELDS])
        case Near(left, right, distance):
            return _any([_near(field, left, right, distance) for field in mapping.WORD_FIELDS])
        case FieldFilter(name, value, prefix):
            return _filter(name, value, prefix)
        case And(children):
            return _all([compile_query(child) for child in children])
        case Or(children):
            return _any([compile_query(child) for child in children])
        case Not(child):
            return {"bool": {"must_not": [compile_query(child)]}}
    raise TypeError(f"not a query node: {node!r}")


MAX_TERMS_PER_QUERY: Final = 65_536


def compile_filter(flt: MentionFilter) -> Query:
    """Compiles a filter: its query and its window on `published_at` (until exclusive)."""
    parts = [] if isinstance(flt.query, MatchAll) else [compile_query(flt.query)]
    since = epoch_us(flt.since) if flt.since is not None else None
    until = epoch_us(flt.until) if flt.until is not None else None
    if since is not None and until is not None and since >= until:
        return dict(MATCH_NONE)
    window: dict[str, int] = {}
    if since is not None:
        window["gte"] = since
    if until is not None:
        window["lt"] = until
    if window:
        parts.append({"range": {mapping.PUBLISHED_US: window}})
    if flt.copies != StoryCopies.ALL:
        parts.append(_copies(flt.copies, since))
    if flt.stories is not None:
        if not flt.stories:
            return dict(MATCH_NONE)
        parts.append(_stories(sorted(flt.stories)))
    return _all(parts)


def _stories(hashes: list[int]) -> Query:
    """Mentions of these stories, in `terms` queries of at most `index.max_terms_count`
    (65,536 by default) values each."""
    step = MAX_TERMS_PER_QUERY
    return _any(
        [
            {"terms": {mapping.STORY_HASH: hashes[start : start + step]}}
            for start in range(0, len(hashes), step)
        ]
    )


def _copies(copies: StoryCopies, since: int | None) -> Query:
    """A story's first copy in the window has its previous copy before `since`; a
    document written without the field counts as a first copy."""
    bound = {"gte": since} if since is not None else {"gt": NO_PREVIOUS}
    later: Query = {"range": {mapping.STORY_PREVIOUS_US: bound}}
    if copies == StoryCopies.LATER:
        return later
    return {"bool": {"must_not": [later]}}


def _operand(field: str, operand: NearOperand) -> Query | None:
    spans: list[Query] = []
    for alt in operand:
        if isinstance(alt, Term):
            spans.append({"span_term": {field: alt.word}})
        elif len(alt.prefix) <= MAX_TOKEN_LENGTH:
            spans.append({"span_multi": {"match": {"prefix": {field: {"value": alt.prefix}}}}})
    if not spans:
        return None
    return spans[0] if len(spans) == 1 else {"span_or": {"clauses": spans}}


def _near(field: str, left: NearOperand, right: NearOperand, distance: int) -> Query:
    a, b = _operand(field, left), _operand(field, right)
    if a is None or b is None or distance < 0:
        return dict(MATCH_NONE)
    return _any(
        [
            {"span_near": {"clauses": [first, second], "slop": distance, "in_order": True}}
            for first, second in ((a, b), (b, a))
        ]
    )


def _filter(name: str, value: str, prefix: bool) -> Query:
    if name not in FILTER_FIELDS:
        raise ValueError(f"unknown field {name!r}")
    field = mapping.filter_field(name)
    if name == "state" and not prefix and value == TriageState.NEW:
        # A document written before triage existed has no state, and is new.
        others = [s.value for s in TriageState if s != TriageState.NEW]
        return {"bool": {"must_not": [{"terms": {field: others}}]}}
    if not prefix:
        return {"term": {field: value}}
    if not value:
        return {"exists": {"field": field}}  # every value starts with ""
    return {"prefix": {field: value}}
