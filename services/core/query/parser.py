"""Parses the boolean query language that Brandwatch and Talkwalker users already write.

    veloria AND (velo* OR "vélo électrique") -promo lang:fr
    (livraison OR delivery) NEAR/3 (retard OR late) brand:Veloria

Operators are upper case (`AND`, `OR`, `NOT`, `NEAR/n`); words side by side are
ANDed; `-word` excludes; `word*` is a trailing wildcard; `field:value` filters.
Matching is blind to case and accents. Errors say where and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

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
from services.core.text import fold_keyword, tokenize
from services.core.triage import STATE_CHOICES, parse_state

MAX_QUERY_LENGTH = 4000
MAX_DEPTH = 32
MAX_CLAUSES = 256
MAX_NEAR_DISTANCE = 100
MIN_WILDCARD_PREFIX = 2
# The cost of a query grows with what its backends expand, not with its length: each
# wildcard reads every indexed word it starts, and a NEAR runs one positional query per
# left x right pair (and per order and field). These caps bound that product before
# anything runs; a query beyond them is refused naming the cap (`QueryTooCostly`).
MAX_WILDCARDS = 32
MAX_NEAR_PAIRS = 64  # left x right alternatives, summed over the query's NEARs
MAX_NEAR_WILDCARD_PAIRS = 4  # of those pairs, the ones with a wildcard on either side
MIN_NEAR_WILDCARD_PREFIX = 3  # a 2-letter prefix next to NEAR reads too many positions

_SENTIMENT_VALUES = {
    "negative": "negative",
    "negatif": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neutre": "neutral",
    "positive": "positive",
    "positif": "positive",
    "pos": "positive",
}


# French field names (folded) -> the field; a query written in French reads as one.
FRENCH_FIELDS: Final = {
    "langue": "lang",
    "marque": "brand",
    "concurrent": "competitor",
    "auteur": "author",
    "sujet": "topic",
    "theme": "topic",
    "histoire": "story",
    "communaute": "community",
    "est": "is",
    "etat": "state",
    "etiquette": "tag",
    "assigne": "assignee",
    "negatif": "negative",
    "neutre": "neutral",
    "positif": "positive",
}
_IS_VALUES = {
    "duplicate": "duplicate",
    "doublon": "duplicate",
    "original": "original",
    "originale": "original",
}
# Fields whose value is one of a closed list (any accepted spelling -> the stored value):
# what an unknown value is called, and the choices the error offers.
_CLOSED_VALUES: Final = {
    "sentiment": (
        _SENTIMENT_VALUES,
        "sentiment",
        "negative, neutral or positive (négatif, neutre or positif)",
    ),
    "is": (
        _IS_VALUES,
        "is: value",
        "is:duplicate or is:original (est:doublon, est:original)",
    ),
}


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; `position` is the 0-based character offset."""

    def __init__(self, message: str, *, position: int, expected: str | None = None) -> None:
        self.message = message
        self.position = position
        self.expected = expected
        super().__init__(f"{message} (at character {position + 1})")


class QueryTooCostly(QuerySyntaxError):
    """A query that parses but exceeds a cost cap; `limit` names the cap (`MAX_NEAR_PAIRS`)."""

    def __init__(self, message: str, *, position: int, limit: str, expected: str) -> None:
        super().__init__(message, position=position, expected=expected)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN AND OR NOT NEAR MINUS EOF
    text: str
    position: int
    value: int = 0  # NEAR distance


_OPERATORS = {"AND", "OR", "NOT"}
_NEAR = re.compile(r"NEAR/(\d+)$")
_STOP_CHARS = set('()"') | {" ", "\t", "\n", "\r"}


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(_Token("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(_Token("RPAREN", ch, i))
            i += 1
        elif ch in '"“”«»':
            closer = {"“": "”", "«": "»"}.get(ch, '"' if ch == '"' else ch)
            end = query.find(closer, i + 1)
            if end < 0 and closer != '"':
                end = query.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError(
                    "this quote is never closed", position=i, expected="a closing quote"
                )
            tokens.append(_Token("PHRASE", query[i + 1 : end], i))
            i = end + 1
        elif ch == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != "-":
            tokens.append(_Token("MINUS", ch, i))
            i += 1
        else:
            start = i
            while i < n and query[i] not in _STOP_CHARS:
                if query[i] == ":" and i > start:
                    break
                i += 1
            word = query[start:i]
            if i < n and query[i] == ":" and word:
                tokens.append(_Token("FIELD", word, start))
                i += 1
                continue
            if word in _OPERATORS:
                tokens.append(_Token(word, word, start))
            elif near := _NEAR.match(word):
                tokens.append(_Token("NEAR", word, start, int(near.group(1))))
            elif word.startswith("NEAR/") or word == "NEAR":
                raise QuerySyntaxError(
                    f"'{word}' is not a valid proximity operator",
                    position=start,
                    expected="NEAR/n with n a number of words, e.g. NEAR/5",
                )
            else:
                tokens.append(_Token("WORD", word, start))
    tokens.append(_Token("EOF", "", n))
    return tokens


def _drop_punctuation(tokens: list[_Token]) -> list[_Token]:
    """Drops stand-alone punctuation ("Veloria - avis"), unless it is all there is."""
    kept = [
        t
        for i, t in enumerate(tokens)
        if not (
            t.kind == "WORD"
            and not tokenize(t.text)
            and "*" not in t.text
            and not (i and tokens[i - 1].kind == "FIELD")
        )
    ]
    return kept if len(kept) > 1 else tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _drop_punctuation(_lex(query))
        self.index = 0
        self.depth = 0
        self.clauses = 0
        self.wildcards = 0
        self.near_pairs = 0
        self.near_wildcard_pairs = 0

    # -- helpers ---------------------------------------------------------------
    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def count_clause(self, token: _Token) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QueryTooCostly(
                f"the query has more than {MAX_CLAUSES} terms; split it into saved searches",
                position=token.position,
                limit="MAX_CLAUSES",
                expected=f"at most {MAX_CLAUSES} terms",
            )

    # -- grammar ---------------------------------------------------------------
    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            return MatchAll()
        node = self.parse_or()
        token = self.peek()
        if token.kind == "RPAREN":
            raise QuerySyntaxError(
                "this closing parenthesis has no opening one", position=token.position
            )
        if token.kind != "EOF":
            raise QuerySyntaxError(
                f"unexpected '{token.text}'", position=token.position, expected="end of query"
            )
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_near()]
        while True:
            token = self.peek()
            if token.kind == "AND":
                self.take()
                children.append(self.parse_near())
            elif token.kind in {"WORD", "PHRASE", "FIELD", "LPAREN", "NOT", "MINUS"}:
                children.append(self.parse_near())  # side by side means AND
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_near(self) -> Node:
        start = self.peek()
        left = self.parse_unary()
        while self.peek().kind == "NEAR":
            near = self.take()
            if near.value > MAX_NEAR_DISTANCE:
                raise QuerySyntaxError(
                    f"NEAR/{near.value} is too far apart",
                    position=near.position,
                    expected=f"a distance of at most {MAX_NEAR_DISTANCE} words",
                )
            right_start = self.peek()
            right = self.parse_unary()
            left = Near(
                self.near_operand(left, start),
                self.near_operand(right, right_start),
                near.value,
            )
            self.count_near_pairs(left, near)
            start = right_start
        return left

    def count_near_pairs(self, near: Near, token: _Token) -> None:
        for alt in (*near.left, *near.right):
            if isinstance(alt, Prefix) and len(alt.prefix) < MIN_NEAR_WILDCARD_PREFIX:
                raise QueryTooCostly(
                    f"'{alt.prefix}*' next to NEAR matches too many words; give at least "
                    f"{MIN_NEAR_WILDCARD_PREFIX} letters before '*'",
                    position=token.position,
                    limit="MIN_NEAR_WILDCARD_PREFIX",
                    expected=f"wildcards of at least {MIN_NEAR_WILDCARD_PREFIX} letters",
                )
        pairs = len(near.left) * len(near.right)
        plain = sum(isinstance(a, Term) for a in near.left) * sum(
            isinstance(b, Term) for b in near.right
        )
        self.near_pairs += pairs
        self.near_wildcard_pairs += pairs - plain
        if self.near_pairs > MAX_NEAR_PAIRS:
            raise QueryTooCostly(
                f"the NEARs of this query pair more than {MAX_NEAR_PAIRS} words "
                f"({self.near_pairs} left x right pairs); use fewer alternatives around NEAR",
                position=token.position,
                limit="MAX_NEAR_PAIRS",
                expected=f"at most {MAX_NEAR_PAIRS} left x right pairs over all NEARs",
            )
        if self.near_wildcard_pairs > MAX_NEAR_WILDCARD_PAIRS:
            raise QueryTooCostly(
                f"the NEARs of this query pair a wildcard more than {MAX_NEAR_WILDCARD_PAIRS} "
                f"times ({self.near_wildcard_pairs} pairs); use fewer wildcards next to NEAR, "
                "or whole words",
                position=token.position,
                limit="MAX_NEAR_WILDCARD_PAIRS",
                expected=f"at most {MAX_NEAR_WILDCARD_PAIRS} pairs with a wildcard around NEAR",
            )

    def count_wildcard(self, token: _Token) -> None:
        self.wildcards += 1
        if self.wildcards > MAX_WILDCARDS:
            raise QueryTooCostly(
                f"the query has more than {MAX_WILDCARDS} wildcards; use whole words or "
                "longer prefixes in fewer wildcards",
                position=token.position,
                limit="MAX_WILDCARDS",
                expected=f"at most {MAX_WILDCARDS} wildcards",
            )

    def near_operand(self, node: Node, token: _Token) -> NearOperand:
        if isinstance(node, Near):
            raise QuerySyntaxError(
                "NEAR cannot be chained; combine two NEARs with AND",
                position=token.position,
                expected="a word or (word OR word) group after NEAR",
            )
        if isinstance(node, Term | Prefix):
            return (node,)
        if isinstance(node, Or) and all(isinstance(c, Term | Prefix) for c in node.children):
            return tuple(c for c in node.children if isinstance(c, Term | Prefix))
        raise QuerySyntaxError(
            "NEAR works on single words, wildcards or (word OR word) groups",
            position=token.position,
            expected="a word or (word OR word) group around NEAR",
        )

    def parse_unary(self) -> Node:
        token = self.peek()
        if token.kind == "NOT":
            self.take()
            if self.peek().kind in {"EOF", "RPAREN", "OR", "AND"}:
                raise QuerySyntaxError(
                    "NOT needs something to exclude",
                    position=self.peek().position,
                    expected="a word, phrase, filter or group after NOT",
                )
            return Not(self.parse_unary())
        if token.kind == "MINUS":
            self.take()
            return Not(self.parse_primary())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "LPAREN":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(
                    f"parentheses nest deeper than {MAX_DEPTH} levels", position=token.position
                )
            if self.peek().kind == "RPAREN":
                raise QuerySyntaxError(
                    "empty parentheses",
                    position=self.peek().position,
                    expected="a word, phrase or filter inside the parentheses",
                )
            node = self.parse_or()
            closing = self.take()
            if closing.kind != "RPAREN":
                raise QuerySyntaxError(
                    "the parenthesis opened here is never closed",
                    position=token.position,
                    expected="')'",
                )
            self.depth -= 1
            return node
        if token.kind == "PHRASE":
            self.count_clause(token)
            return self.phrase(token)
        if token.kind == "WORD":
            self.count_clause(token)
            return self.word(token)
        if token.kind == "FIELD":
            self.count_clause(token)
            return self.field(token)
        expected = "a word, phrase, filter or '('"
        if token.kind == "EOF":
            raise QuerySyntaxError(
                "the query ends too early", position=token.position, expected=expected
            )
        if token.kind == "RPAREN":
            raise QuerySyntaxError("unexpected ')'", position=token.position, expected=expected)
        raise QuerySyntaxError(
            f"'{token.text}' cannot start a term", position=token.position, expected=expected
        )

    def phrase(self, token: _Token) -> Node:
        if "*" in token.text:
            raise QuerySyntaxError(
                "wildcards are not allowed inside exact phrases",
                position=token.position + 1 + token.text.index("*"),
                expected="a phrase without '*'",
            )
        words = tokenize(token.text)
        if not words:
            raise QuerySyntaxError(
                "this phrase has no words", position=token.position, expected="a word in quotes"
            )
        return Term(words[0]) if len(words) == 1 else Phrase(tuple(words))

    def word(self, token: _Token) -> Node:
        text = token.text
        star = text.find("*")
        if star >= 0:
            if star != len(text) - 1:
                raise QuerySyntaxError(
                    "only a trailing wildcard is supported",
                    position=token.position + star,
                    expected="'*' at the end of a word, e.g. veloria*",
                )
            words = tokenize(text[:-1])
            if len(words) != 1 or len(words[0]) < MIN_WILDCARD_PREFIX:
                raise QuerySyntaxError(
                    f"a wildcard needs at least {MIN_WILDCARD_PREFIX} letters before '*'",
                    position=token.position,
                    expected="a word prefix such as 'velo*'",
                )
            self.count_wildcard(token)
            return Prefix(words[0])
        words = tokenize(text)
        if not words:
            raise QuerySyntaxError(
                f"'{text}' has no letters or digits to search for",
                position=token.position,
                expected="a word",
            )
        # "e-commerce", "l'oréal", "3.5" are several words: search them as a phrase.
        return Term(words[0]) if len(words) == 1 else Phrase(tuple(words))

    def field(self, token: _Token) -> Node:
        name = fold_keyword(token.text)
        name = FRENCH_FIELDS.get(name, name)
        if name not in FILTER_FIELDS:
            raise QuerySyntaxError(
                f"unknown field '{token.text}'",
                position=token.position,
                expected="one of "
                + ", ".join(f"{f}:" for f in FILTER_FIELDS)
                + " or in French "
                + ", ".join(f"{f}:" for f in FRENCH_FIELDS)
                + " (put the text in quotes to search for it literally)",
            )
        value_token = self.take()
        if value_token.kind not in {"WORD", "PHRASE"} or value_token.position != (
            token.position + len(token.text) + 1
        ):
            raise QuerySyntaxError(
                f"'{name}:' needs a value right after the colon",
                position=token.position + len(token.text) + 1,
                expected=f"e.g. {name}:{_example(name)}",
            )
        raw = value_token.text
        prefix = value_token.kind == "WORD" and raw.endswith("*")
        if prefix:
            raw = raw[:-1]
            self.count_wildcard(value_token)
        if "*" in raw:
            raise QuerySyntaxError(
                "only a trailing wildcard is supported",
                position=value_token.position + raw.index("*"),
            )
        value = fold_keyword(raw)
        if not value:
            raise QuerySyntaxError(
                f"'{name}:' has an empty value",
                position=value_token.position,
                expected=f"e.g. {name}:{_example(name)}",
            )
        if name in _CLOSED_VALUES:
            values, what, choices = _CLOSED_VALUES[name]
            if prefix or value not in values:
                raise QuerySyntaxError(
                    f"unknown {what} '{raw}'", position=value_token.position, expected=choices
                )
            value = values[value]
        if name == "state":
            try:
                value = parse_state(value).value
            except ValueError:
                prefix = True  # refused just below
            if prefix:
                raise QuerySyntaxError(
                    f"unknown triage state '{raw}'",
                    position=value_token.position,
                    expected=STATE_CHOICES,
                ) from None
        if name == "site":
            if prefix:
                raise QuerySyntaxError(
                    "site: matches a domain and its subdomains; drop the '*'",
                    position=value_token.position,
                )
            value = value.removeprefix("www.").strip(".")
        return FieldFilter(name, value, prefix)


def _example(field: str) -> str:
    return {
        "lang": "fr",
        "brand": "Veloria",
        "competitor": '"Trek Bikes"',
        "source": "lemonde",
        "sentiment": "negative",
        "author": "jdupont",
        "site": "lemonde.fr",
        "topic": "delivery",
        "story": "3f9a0c1d2e4b5a6c",
        "is": "original",
        "community": "r/velo",
        "state": "new",
        "tag": "legal",
        "assignee": "me",
        "negative": "Veloria",
        "neutral": "Veloria",
        "positive": "Veloria",
    }[field]


def parse_query(query: str) -> Node:
    """Parses `query` into a tree; raises QuerySyntaxError naming the position of a mistake."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"the query is longer than {MAX_QUERY_LENGTH} characters",
            position=MAX_QUERY_LENGTH,
        )
    return _Parser(query).parse()
