"""The query language parser: what users write, what it means, and its error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.query import QuerySyntaxError, parse_query
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
    to_text,
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", MatchAll()),
        ("Veloria", Term("veloria")),
        ("SOCIÉTÉ", Term("societe")),
        ("a AND b", And((Term("a"), Term("b")))),
        ("a b", And((Term("a"), Term("b")))),
        ("a OR b", Or((Term("a"), Term("b")))),
        ("a b OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
        ("a (b OR c)", And((Term("a"), Or((Term("b"), Term("c")))))),
        ("NOT a", Not(Term("a"))),
        ("a -b", And((Term("a"), Not(Term("b"))))),
        ("a - b", And((Term("a"), Term("b")))),  # a lone dash is punctuation
        ('"vélo électrique"', Phrase(("velo", "electrique"))),
        ("«service client»", Phrase(("service", "client"))),
        ("e-commerce", Phrase(("e", "commerce"))),
        ("l'oréal", Phrase(("l", "oreal"))),
        ("velo*", Prefix("velo")),
        ("a NEAR/3 b", Near((Term("a"),), (Term("b"),), 3)),
        (
            "(retard OR late*) NEAR/5 livraison",
            Near((Term("retard"), Prefix("late")), (Term("livraison"),), 5),
        ),
        ("lang:FR", FieldFilter("lang", "fr")),
        ('brand:"Voltaire Cycles"', FieldFilter("brand", "voltaire cycles")),
        ("author:jean*", FieldFilter("author", "jean", prefix=True)),
        ("site:www.LeMonde.fr", FieldFilter("site", "lemonde.fr")),
        ("sentiment:négatif", FieldFilter("sentiment", "negative")),
        # French field names and values read as the English ones.
        ("négatif:Veloria", FieldFilter("negative", "veloria")),
        ("Positive:Veloria", FieldFilter("positive", "veloria")),
        ("neutre:Trekko", FieldFilter("neutral", "trekko")),
        ("marque:Veloria", FieldFilter("brand", "veloria")),
        ("langue:fr", FieldFilter("lang", "fr")),
        ("sujet:livraison", FieldFilter("topic", "livraison")),
        ('état:"en cours"', FieldFilter("state", "in_progress")),
        ("etat:répondu", FieldFilter("state", "answered")),
        ("state:ignoré", FieldFilter("state", "ignored")),
        ("est:doublon", FieldFilter("is", "duplicate")),
        ("a and b", And((Term("a"), Term("and"), Term("b")))),  # operators are upper case
    ],
)
def test_parses(query: str, expected: object) -> None:
    assert parse_query(query) == expected


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("(a OR b", 0, "never closed"),
        ("a OR", 4, "ends too early"),
        ("a)", 1, "no opening"),
        ('"abc', 0, "never closed"),
        ("a*b", 1, "trailing wildcard"),
        ("v*", 0, "at least 2"),
        ("colour:red", 0, "unknown field 'colour'"),
        ("lang:", 5, "needs a value"),
        ("sentiment:angry", 10, "unknown sentiment"),
        ("a NEAR/x b", 2, "not a valid proximity"),
        ("a NEAR/500 b", 2, "too far"),
        ('"a b" NEAR/2 c', 0, "NEAR works on single words"),
        ("a NEAR/2 b NEAR/2 c", 9, "cannot be chained"),
        ("()", 1, "empty parentheses"),
        ("NOT", 3, "needs something"),
        ("!!!", 0, "no letters or digits"),
        ('"vélo*"', 5, "not allowed inside exact phrases"),
        # The expectation names the values in both languages.
        ("state:fini", 6, "new (nouveau), in progress (en cours), answered (répondu)"),
        ("sentiment:fâché", 10, "(négatif, neutre or positif)"),
        ("is:copie", 3, "est:doublon"),
        ("couleur:rouge", 0, "or in French langue:, marque:"),
    ],
)
def test_errors_name_position_and_expectation(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert fragment in f"{info.value} {info.value.expected}"
    assert info.value.position == position


def test_limits_refuse_huge_queries() -> None:
    with pytest.raises(QuerySyntaxError, match="longer than"):
        parse_query("a " * 3000)
    with pytest.raises(QuerySyntaxError, match="more than 256 terms"):
        parse_query(" OR ".join(f"w{i}" for i in range(300)))
    with pytest.raises(QuerySyntaxError, match="nest deeper"):
        parse_query("(" * 40 + "a" + ")" * 40)


WORDS = st.sampled_from(["veloria", "velo", "livraison", "late", "societe", "bike", "prix"])


def _queries() -> st.SearchStrategy[str]:
    leaf = st.one_of(
        WORDS,
        WORDS.map(lambda w: w + "*"),
        st.lists(WORDS, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
        st.sampled_from(["lang:fr", "brand:Veloria", "sentiment:negative", "site:lemonde.fr"]),
        st.tuples(WORDS, st.integers(0, 5), WORDS).map(lambda t: f"{t[0]} NEAR/{t[1]} {t[2]}"),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda t: f"({t[0]} AND {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
            inner.map(lambda q: f"NOT ({q})"),
        ),
        max_leaves=8,
    )


@settings(max_examples=300, deadline=None)
@given(_queries())
def test_rendered_tree_parses_back_to_the_same_tree(query: str) -> None:
    tree = parse_query(query)
    assert parse_query(to_text(tree)) == tree


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_parses_or_fails_cleanly(query: str) -> None:
    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        assert 0 <= exc.position <= len(query)
