"""Compiles query trees to tantivy queries that accept exactly what `matches` accepts.

NEAR: tantivy's sloppy phrase `[(0, a), (k, b)]` with slop `s` matches when
`pos(b) - pos(a)` lies in `[k - s, k + s]` (checked against every pair in
tests/test_query_agreement.py). `a NEAR/n b` wants `1 <= |pos(b) - pos(a)| <= n + 1`
(two different words), so each direction is covered by windows whose lower end is 1:
the same word can never serve as both sides, which a plain slop of `n` would allow.
"""

from __future__ import annotations

from typing import Final

import tantivy
from tantivy import FieldType, Occur, Query

from services.core.query.ast import (
    FILTER_FIELDS,
    And,
    FieldFilter,
    MatchAll,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
)
from services.core.text import MAX_TOKEN_LENGTH
from services.store.contracts import MentionFilter, StoryCopies
from services.store.embedded import keys, schema
from services.store.story_chain import NO_PREVIOUS

# tantivy refuses regexes over 1000 automaton states (about one per byte): longer
# keyword prefixes are expanded against the term dictionary instead.
_MAX_REGEX_BYTES: Final = 400


def regex_literal(text: str) -> str:
    """Escapes `text` for tantivy's regex syntax (every non-alphanumeric as `\\x{..}`)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else f"\\x{{{ord(ch):x}}}" for ch in text)


def _prefix_regex(prefix: str) -> str:
    return regex_literal(prefix) + "(?s:.*)"


def near_windows(distance: int) -> list[tuple[int, int]]:
    """`(offset, slop)` pairs whose ranges `[offset - slop, offset + slop]` cover 1..distance+1."""
    if distance < 0:
        return []
    if distance % 2 == 0:
        half = distance // 2
        return [(half + 1, half)]
    half = (distance - 1) // 2
    return [(half + 1, half), (half + 2, half)]  # [1, distance] and [2, distance + 1]


def _any(queries: list[Query]) -> Query:
    if not queries:
        return Query.empty_query()
    if len(queries) == 1:
        return queries[0]
    return Query.boolean_query([(Occur.Should, q) for q in queries])


def _all(queries: list[Query]) -> Query:
    if not queries:
        return Query.all_query()
    if len(queries) == 1:
        return queries[0]
    return Query.boolean_query([(Occur.Must, q) for q in queries])


class QueryCompiler:
    """Turns query trees into tantivy queries for one index and one searcher."""

    def __init__(self, index_schema: tantivy.Schema, searcher: tantivy.Searcher) -> None:
        self._schema = index_schema
        # The searcher expands very long keyword prefixes against its term dictionary.
        self._searcher = searcher

    def compile(self, node: Node) -> Query:
        """Compiles one query tree."""
        match node:
            case MatchAll():
                return Query.all_query()
            case Term(word):
                return _any([self._term(field, word) for field in schema.WORD_FIELDS])
            case Prefix(prefix):
                return _any([self._word_prefix(field, prefix) for field in schema.WORD_FIELDS])
            case Phrase(words):
                return _any([self._phrase(field, words) for field in schema.WORD_FIELDS])
            case Near():
                return _any([self._near(field, node) for field in schema.WORD_FIELDS])
            case FieldFilter(name, value, prefix):
                return self._filter(name, value, prefix)
            case And(children):
                return _all([self.compile(child) for child in children])
            case Or(children):
                return _any([self.compile(child) for child in children])
            case Not(child):
                return Query.boolean_query(
                    [(Occur.Must, Query.all_query()), (Occur.MustNot, self.compile(child))]
                )
        raise TypeError(f"not a query node: {node!r}")

    def compile_filter(self, flt: MentionFilter) -> Query:
        """Compiles a filter: its query and its window on `published_at`."""
        parts = [] if isinstance(flt.query, MatchAll) else [self.compile(flt.query)]
        since = keys.epoch_us(flt.since) if flt.since is not None else None
        until = keys.epoch_us(flt.until) if flt.until is not None else None
        if since is not None and until is not None and since >= until:
            return Query.empty_query()
        if since is not None or until is not None:
            parts.append(
                Query.range_query(
                    self._schema,
                    schema.PUBLISHED_US,
                    FieldType.Integer,
                    since,
                    until,
                    include_lower=True,
                    include_upper=until is None,  # `until` is exclusive
                )
            )
        if flt.copies != StoryCopies.ALL:
            parts.append(self._copies(flt.copies, since))
        if flt.stories is not None:
            if not flt.stories:
                return Query.empty_query()
            parts.append(Query.term_set_query(self._schema, schema.STORY_HASH, sorted(flt.stories)))
        return _all(parts)

    def _copies(self, copies: StoryCopies, since: int | None) -> Query:
        """A story's first copy in the window has its previous copy before `since`."""
        edge = since if since is not None else NO_PREVIOUS + 1
        first = copies == StoryCopies.FIRST
        return Query.range_query(
            self._schema,
            schema.STORY_PREVIOUS_US,
            FieldType.Integer,
            NO_PREVIOUS if first else edge,
            edge - 1 if first else 2**63 - 1,
            include_lower=True,
            include_upper=True,
        )

    def key_range(self, *, below: int | None = None, above: int | None = None) -> Query:
        """Mentions whose sort key is strictly below or above a cursor's key."""
        return Query.range_query(
            self._schema,
            schema.SORT_KEY,
            FieldType.Integer,
            above,
            below,
            include_lower=above is None,
            include_upper=below is None,
        )

    # -- words -------------------------------------------------------------------
    def _term(self, field: str, word: str) -> Query:
        return Query.term_query(self._schema, field, word, index_option="basic")

    def _word_prefix(self, field: str, prefix: str) -> Query:
        if len(prefix) > MAX_TOKEN_LENGTH:
            return Query.empty_query()  # no indexed word is that long
        return Query.regex_query(self._schema, field, _prefix_regex(prefix))

    def _phrase(self, field: str, words: tuple[str, ...]) -> Query:
        if not words:
            return Query.empty_query()
        if len(words) == 1:
            return self._term(field, words[0])
        return Query.phrase_query(self._schema, field, list(words))

    def _near(self, field: str, node: Near) -> Query:
        windows = near_windows(node.distance)
        seen: set[tuple[Term | Prefix, Term | Prefix]] = set()
        queries: list[Query] = []
        for left in node.left:
            for right in node.right:
                # Either order is allowed: cover b after a, then a after b.
                for first, second in ((left, right), (right, left)):
                    if (first, second) in seen:
                        continue
                    seen.add((first, second))
                    queries.extend(
                        self._ordered_pair(field, first, second, offset, slop)
                        for offset, slop in windows
                    )
        return _any(queries)

    def _ordered_pair(
        self, field: str, first: Term | Prefix, second: Term | Prefix, offset: int, slop: int
    ) -> Query:
        if isinstance(first, Term) and isinstance(second, Term):
            return Query.phrase_query(
                self._schema, field, [(0, first.word), (offset, second.word)], slop
            )
        for alt in (first, second):
            if isinstance(alt, Prefix) and len(alt.prefix) > MAX_TOKEN_LENGTH:
                return Query.empty_query()
        return Query.regex_phrase_query(
            self._schema,
            field,
            [(0, self._alt_regex(first)), (offset, self._alt_regex(second))],
            slop,
        )

    @staticmethod
    def _alt_regex(alt: Term | Prefix) -> str:
        if isinstance(alt, Term):
            return regex_literal(alt.word)
        return _prefix_regex(alt.prefix)

    # -- keyword filters -----------------------------------------------------------
    def _filter(self, name: str, value: str, prefix: bool) -> Query:
        if name not in FILTER_FIELDS:
            raise ValueError(f"unknown field {name!r}")
        field = schema.filter_field(name)
        if not prefix:
            return Query.term_query(self._schema, field, value, index_option="basic")
        if len(value.encode("utf-8")) <= _MAX_REGEX_BYTES:
            return Query.regex_query(self._schema, field, _prefix_regex(value))
        terms = [term for term, _ in self._searcher.terms_with_prefix(field, value)]
        if not terms:
            return Query.empty_query()
        return Query.term_set_query(self._schema, field, terms)
