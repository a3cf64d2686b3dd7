"""Every store returns exactly the mentions the in-memory matcher accepts (property tests).

Mentions use a small vocabulary with accented, upper-case and punctuated spellings so
that random queries hit often; queries are random trees (every node type) and random
query strings run through the parser.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.core.models import Mention, Sentiment, SentimentLabel
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
    to_text,
)
from services.core.query.matcher import keyword_values, matches
from services.core.query.parser import QuerySyntaxError, parse_query
from services.core.text import fold_keyword, tokenize
from services.core.triage import Triage, TriageState
from services.store.contracts import MAX_PAGE_SIZE, MentionFilter, MentionIndex, SearchRequest
from services.store.embedded.index import EmbeddedIndex

_SPELLINGS = """
    vélo velo VÉLO vélos Veloria veloria's électrique electrique retard late livraison
    delivery Société societe œuvre oeuvre l'oréal e-commerce 3.5 Straße le la de et promo
    prix bike bikes service client a ab abc zoé
"""
SPELLINGS = _SPELLINGS.split()
WORDS = sorted({w for s in SPELLINGS for w in tokenize(s)} | {"absent", "veloriaz"})
PREFIXES = sorted({w[:n] for w in WORDS for n in range(1, 4) if len(w) >= n})
BRANDS = ["Veloria", "Vélo Cie", "Acme", "acme bikes"]
TOPICS = ["delivery", "Prix", "service client"]
TAGS = ["legal", "Légal", "à rappeler", "vip"]
AUTHORS = [None, "Jean Dupont", "jean-pierre", "Zoé", "JDOE"]
URLS = [
    None,
    "https://www.lemonde.fr/a",
    "https://news.lemonde.fr/b",
    "https://example.com/x",
    "http://blog.example.co.uk/p",
]
SOURCES = [
    ("feed", "Le Monde"),
    ("feed", "Hacker News"),
    ("import", "Import CSV"),
    ("demo", "Démo"),
]
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def random_text(rng: random.Random, most: int) -> str:
    words = rng.choices(SPELLINGS, k=rng.randint(0, most))
    return "".join(w + rng.choice([" ", " ", ", ", ". ", " - "]) for w in words)


def random_mention(rng: random.Random, n: int) -> Mention:
    kind, name = rng.choice(SOURCES)
    sentiment = rng.choice([None, *SentimentLabel])
    brands = rng.sample(BRANDS, rng.randint(0, 2))
    competitors = rng.sample(BRANDS, rng.randint(0, 1))
    # Some names judged apart from the whole mention (negative:NAME and the like).
    toward = {
        name: Sentiment(label=rng.choice(list(SentimentLabel)), score=0.8)
        for name in [*brands, *competitors]
        if rng.random() < 0.5
    }
    return Mention(
        id=f"q{n:04d}",
        source_kind=kind,
        source_name=name,
        url=rng.choice(URLS),
        title=random_text(rng, 5),
        text=random_text(rng, 20),
        author=rng.choice(AUTHORS),
        published_at=T0 + timedelta(minutes=rng.randint(0, 5000)),
        language=rng.choice([None, "fr", "en", "FR"]),
        brands=brands,
        competitors=competitors,
        sentiment=Sentiment(label=sentiment, score=0.7) if sentiment else None,
        brand_sentiments=toward,
        topics=rng.sample(TOPICS, rng.randint(0, 2)),
        triage=random_triage(rng),
    )


def random_triage(rng: random.Random) -> Triage:
    # Half untriaged (state new, as every mention starts), half anything.
    if rng.random() < 0.5:
        return Triage()
    return Triage(
        state=rng.choice(list(TriageState)),
        assignee=rng.choice(AUTHORS),
        tags=rng.sample(TAGS, rng.randint(0, 2)),
    )


_rng = random.Random(20260105)  # fixed: the module-wide index is built once
CORPUS = [random_mention(_rng, n) for n in range(200)]


def _values(field: str) -> list[str]:
    seen = {v for m in CORPUS for v in keyword_values(m, field)}
    return sorted(seen | {"nothing", fold_keyword("Vélo Cie")})


FIELD_VALUES = {field: _values(field) for field in FILTER_FIELDS}

# -- query trees ---------------------------------------------------------------------------
terms = st.builds(Term, st.sampled_from(WORDS))
prefixes = st.builds(Prefix, st.sampled_from(PREFIXES))
near_operands = st.lists(st.one_of(terms, prefixes), min_size=1, max_size=3).map(tuple)
nears = st.builds(Near, near_operands, near_operands, st.integers(0, 6))
phrases = st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(
    lambda words: Phrase(tuple(words))
)


@st.composite
def field_filters(draw: st.DrawFn) -> FieldFilter:
    field = draw(st.sampled_from(FILTER_FIELDS))
    value = draw(st.sampled_from(FIELD_VALUES[field]))
    prefix = draw(st.booleans())
    if prefix:
        value = value[: draw(st.integers(0, max(len(value), 1)))]
    return FieldFilter(field, value, prefix)


leaves = st.one_of(terms, prefixes, phrases, nears, field_filters(), st.just(MatchAll()))
queries: st.SearchStrategy[Node] = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(children, min_size=1, max_size=3).map(lambda c: Or(tuple(c))),
        children.map(Not),
    ),
    max_leaves=6,
)

_QUERY_PIECES = """
    vél* ab* e-com* lang:fr brand:acme* site:lemonde.fr source:import author:jean*
    sentiment:negatif topic:prix competitor:acme negative:veloria positive:acme* neutral:acme
    state:new state:in_progress state:answered tag:legal tag:vip* assignee:zoé assignee:jean*
    NEAR/2 NEAR/0 AND OR NOT - ( )
"""
QUERY_PIECES = [
    *SPELLINGS,
    *_QUERY_PIECES.split(),
    'brand:"Vélo Cie"',
    '"vélo électrique"',
    'state:"in progress"',
    'tag:"à rappeler"',
]
query_texts = st.lists(st.sampled_from(QUERY_PIECES), min_size=1, max_size=7).map(" ".join)


# -- the index under test --------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus_index() -> Iterator[MentionIndex]:
    with tempfile.TemporaryDirectory() as path:
        index = EmbeddedIndex(path)
        index.upsert(CORPUS)
        yield index
        index.close()


def found_ids(index: MentionIndex, node: Node) -> set[str]:
    ids: set[str] = set()
    cursor: str | None = None
    while True:
        page = index.search(
            SearchRequest(filter=MentionFilter(query=node), limit=MAX_PAGE_SIZE, cursor=cursor)
        )
        ids.update(m.id for m in page.mentions)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def assert_agrees(index: MentionIndex, corpus: list[Mention], node: Node) -> None:
    expected = {m.id for m in corpus if matches(node, m)}
    got = found_ids(index, node)
    assert got == expected, (
        f"query {to_text(node)}: index only {sorted(got - expected)}, "
        f"matcher only {sorted(expected - got)}"
    )
    assert index.count(MentionFilter(query=node)) == len(expected)


def test_the_corpus_is_varied() -> None:
    # A corpus where nearly everything or nothing matches would prove little.
    hits = [sum(matches(Term(w), m) for m in CORPUS) for w in WORDS]
    assert min(hits) == 0 and max(hits) > 50
    assert sum(any(matches(Near((Term(w),), (Term(w),), 3), m) for w in WORDS) for m in CORPUS)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(node=queries)
def test_index_agrees_with_matcher_on_query_trees(corpus_index: MentionIndex, node: Node) -> None:
    assert_agrees(corpus_index, CORPUS, node)


@settings(max_examples=150, deadline=None)
@given(text=query_texts)
def test_index_agrees_with_matcher_on_query_strings(corpus_index: MentionIndex, text: str) -> None:
    try:
        node = parse_query(text)
    except QuerySyntaxError:
        return
    assert_agrees(corpus_index, CORPUS, node)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 8),
    nodes=st.lists(queries, min_size=1, max_size=5),
)
def test_index_agrees_on_small_random_corpora(seed: int, size: int, nodes: list[Node]) -> None:
    rng = random.Random(seed)
    corpus = [random_mention(rng, n) for n in range(size)]
    with tempfile.TemporaryDirectory() as path:
        index = EmbeddedIndex(path, writer_idle_seconds=0)
        try:
            index.upsert(corpus)
            for node in nodes:
                assert_agrees(index, corpus, node)
        finally:
            index.close()
