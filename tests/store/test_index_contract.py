"""The MentionIndex contract (services/store/contracts.py), run against every backend."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.core.models import AuthorDetails, Mention, Sentiment, SentimentLabel
from services.core.query.ast import (
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
from services.core.query.matcher import matches
from services.core.query.parser import parse_query
from services.core.triage import Triage, TriageState
from services.exports.columns import MentionColumns
from services.store.contracts import (
    MAX_PAGE_SIZE,
    AudienceBucket,
    CountBucket,
    Dimension,
    Interval,
    MentionFilter,
    MentionIndex,
    Reach,
    SearchRequest,
    SortOrder,
    StoryCopies,
)
from services.store.embedded.keys import epoch_us
from services.store.id_digest import fold_dated
from services.store.story_chain import story_hash
from tests.factories import BASE_TIME, make_mention
from tests.store.conftest import BackendCase

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


def _sentiment(label: str) -> Sentiment:
    return Sentiment(label=SentimentLabel(label), score=0.8)


def ids_matching(
    index: MentionIndex,
    query: Node | str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> set[str]:
    """Ids of every match, walked through cursor pages."""
    node = parse_query(query) if isinstance(query, str) else query
    flt = MentionFilter(query=node, since=since, until=until)
    return {m.id for m in walk(index, flt, limit=MAX_PAGE_SIZE)}


def walk(
    index: MentionIndex,
    flt: MentionFilter,
    *,
    limit: int,
    sort: SortOrder = SortOrder.NEWEST,
) -> list[Mention]:
    """Every page of a search, in order."""
    found: list[Mention] = []
    cursor: str | None = None
    while True:
        page = index.search(SearchRequest(filter=flt, sort=sort, limit=limit, cursor=cursor))
        found.extend(page.mentions)
        if page.next_cursor is None:
            return found
        assert page.mentions, "a page with a next cursor must not be empty"
        cursor = page.next_cursor


# -- writing --------------------------------------------------------------------------
def test_upsert_is_idempotent_and_replaces(mention_index: MentionIndex) -> None:
    first = make_mention(id="same", text="first version", published_at=T0)
    assert mention_index.upsert([first]) == 1
    assert mention_index.upsert([first]) == 1
    second = first.model_copy(update={"text": "second version", "brands": ["Acme"]})
    mention_index.upsert([second])

    assert mention_index.count(MentionFilter()) == 1
    assert mention_index.get("same") == second
    assert ids_matching(mention_index, "first") == set()
    assert ids_matching(mention_index, "second brand:acme") == {"same"}
    assert ids_matching(mention_index, "brand:veloria") == set()


def test_upsert_of_one_id_twice_in_a_batch_keeps_the_last(mention_index: MentionIndex) -> None:
    old = make_mention(id="dup", text="old words")
    new = make_mention(id="dup", text="new words")
    mention_index.upsert([old, new])
    assert mention_index.count(MentionFilter()) == 1
    assert mention_index.get("dup") == new


def test_upsert_nothing(mention_index: MentionIndex) -> None:
    assert mention_index.upsert([]) == 0
    assert mention_index.count(MentionFilter()) == 0


def test_get_round_trips_every_field(mention_index: MentionIndex) -> None:
    mention = make_mention(
        id="full",
        title="Un titre",
        text="Le texte, accentué",
        url="https://news.lemonde.fr/a?b=1",
        author="Zoé",
        published_at=T0 + timedelta(microseconds=123),
        brands=["Veloria", "Vélo Cie"],
        competitors=["Acme"],
        topics=["delivery"],
        brand_sentiments={"Veloria": _sentiment("positive")},
    )
    mention_index.upsert([mention])
    assert mention_index.get("full") == mention
    assert mention_index.get("absent") is None


def test_delete_returns_how_many_existed(mention_index: MentionIndex) -> None:
    mention_index.upsert([make_mention(id="a"), make_mention(id="b"), make_mention(id="c")])
    assert mention_index.delete(["a", "b", "zzz", "a"]) == 2
    assert mention_index.get("a") is None
    assert mention_index.count(MentionFilter()) == 1
    assert mention_index.delete([]) == 0
    assert mention_index.delete(["a"]) == 0


def test_delete_matching_removes_what_the_filter_matches(mention_index: MentionIndex) -> None:
    old = [make_mention(id=f"old{i}", source_kind="x", published_at=T0) for i in range(3)]
    kept = make_mention(id="keep-new", source_kind="x", published_at=T0 + timedelta(days=30))
    other = make_mention(id="keep-feed", source_kind="feed", published_at=T0)
    by = make_mention(id="by-jean", author="Jean.Dupont", published_at=T0 + timedelta(days=40))
    mention_index.upsert([*old, kept, other, by])
    old_x = MentionFilter(query=FieldFilter("source", "x"), until=T0 + timedelta(days=1))

    assert mention_index.delete_matching(old_x) == 3
    assert mention_index.delete_matching(old_x) == 0
    assert {m.id for m in walk(mention_index, MentionFilter(), limit=10)} == {
        "keep-new",
        "keep-feed",
        "by-jean",
    }
    assert mention_index.delete_matching(MentionFilter(query=FieldFilter("author", "jean.dupont")))
    assert mention_index.get("by-jean") is None
    assert mention_index.count(MentionFilter()) == 2


# -- queries ----------------------------------------------------------------------------
@pytest.fixture
def corpus(mention_index: MentionIndex) -> list[Mention]:
    mentions = [
        make_mention(
            id="velo",
            title="Société Veloria",
            text="Le vélo électrique de Veloria arrive en retard, livraison lente.",
            brands=["Veloria"],
            competitors=[],
            language="fr",
            sentiment=_sentiment("negative"),
            author="Jean Dupont",
            url="https://www.news.lemonde.fr/article",
            source_name="Le Monde",
            topics=["delivery"],
        ),
        make_mention(
            id="late",
            title="Delivery was late",
            text="My Acme bike delivery is late again",
            brands=[],
            competitors=["Acme"],
            language="en",
            sentiment=_sentiment("negative"),
            author="jdoe",
            url="https://example.com/post",
            source_name="Hacker News",
            topics=["delivery", "price"],
        ),
        make_mention(
            id="happy",
            title="",
            text="J'adore mon VÉLO, service client au top",
            brands=["Veloria"],
            competitors=["Acme"],
            language="fr",
            sentiment=_sentiment("positive"),
            author="Zoé Martin",
            url=None,
            source_name="Forum Vélo",
            topics=[],
        ),
        make_mention(
            id="split",
            title="prix du velo",
            text="electrique et pas cher",
            brands=[],
            competitors=[],
            language=None,
            sentiment=None,
            author=None,
            url="https://lemonde.fr/x",
            source_name="Le Monde",
            topics=[],
        ),
    ]
    mention_index.upsert(mentions)
    return mentions


QUERIES: list[tuple[Node | str, set[str]]] = [
    (MatchAll(), {"velo", "late", "happy", "split"}),
    (Term("velo"), {"velo", "happy", "split"}),
    (Term("societe"), {"velo"}),  # "Société" in the title
    (Prefix("deliv"), {"late"}),
    (Prefix("elec"), {"velo", "split"}),
    (Phrase(("velo", "electrique")), {"velo"}),
    (Phrase(("du", "velo")), {"split"}),
    (Phrase(("velo", "electrique", "de")), {"velo"}),
    (Phrase(("velo", "de")), set()),
    # "velo" ends the title of "split" and "electrique" starts its text: not one field.
    (Near((Term("velo"),), (Term("electrique"),), 0), {"velo"}),
    (Near((Term("electrique"),), (Term("velo"),), 0), {"velo"}),  # either order
    (Near((Term("veloria"),), (Term("retard"),), 2), {"velo"}),  # 2 words between
    (Near((Term("veloria"),), (Term("retard"),), 1), set()),
    (Near((Term("veloria"),), (Prefix("ret"), Term("zzz")), 2), {"velo"}),
    (Near((Term("delivery"),), (Term("late"),), 1), {"late"}),  # "delivery is late"
    (Near((Term("delivery"),), (Term("late"),), 0), set()),
    (Near((Term("late"),), (Term("late"),), 5), set()),  # one "late" cannot pair with itself
    (Near((Term("delivery"),), (Term("delivery"),), 100), set()),
    (Near((Prefix("liv"),), (Prefix("lent"),), 0), {"velo"}),
    (FieldFilter("lang", "fr"), {"velo", "happy"}),
    (FieldFilter("brand", "veloria"), {"velo", "happy"}),
    (FieldFilter("competitor", "acme"), {"late", "happy"}),
    (FieldFilter("source", "le monde"), {"velo", "split"}),
    (FieldFilter("source", "feed"), {"velo", "late", "happy", "split"}),  # the source kind
    (FieldFilter("source", "forum", prefix=True), {"happy"}),
    (FieldFilter("sentiment", "negative"), {"velo", "late"}),
    (FieldFilter("author", "jean dupont"), {"velo"}),
    (FieldFilter("author", "zoe", prefix=True), {"happy"}),
    (FieldFilter("author", "j", prefix=True), {"velo", "late"}),
    (FieldFilter("site", "lemonde.fr"), {"velo", "split"}),
    (FieldFilter("site", "news.lemonde.fr"), {"velo"}),
    (FieldFilter("topic", "delivery"), {"velo", "late"}),
    (FieldFilter("topic", "pri", prefix=True), {"late"}),
    (And((Term("velo"), FieldFilter("lang", "fr"))), {"velo", "happy"}),
    (Or((Term("acme"), Term("retard"))), {"velo", "late"}),
    (Not(Term("velo")), {"late"}),
    (And(()), {"velo", "late", "happy", "split"}),
    (Or(()), set()),
    ("(velo OR bike) -lang:fr", {"late", "split"}),
    ('"vélo électrique" OR sentiment:positive', {"velo", "happy"}),
    ("(livraison OR delivery) NEAR/3 (retard OR late)", {"velo", "late"}),
    ("author:jean* site:lemonde.fr", {"velo"}),
]


@pytest.mark.parametrize(("query", "expected"), QUERIES, ids=[str(q) for q, _ in QUERIES])
def test_search_matches_the_matcher(
    mention_index: MentionIndex, corpus: list[Mention], query: Node | str, expected: set[str]
) -> None:
    node = parse_query(query) if isinstance(query, str) else query
    assert {m.id for m in corpus if matches(node, m)} == expected  # the test itself is right
    assert ids_matching(mention_index, node) == expected
    assert mention_index.count(MentionFilter(query=node)) == len(expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("author:jdupont", {"at"}),
        ("author:@jdupont", {"at"}),
        ("author:@JDupont", {"at"}),
        ("author:jdup*", {"at"}),
        ("author:@jdup*", {"at"}),
        ("author:marie", {"bare"}),
        ("author:@marie", {"bare"}),
        ("-author:@marie", {"at"}),
    ],
)
def test_an_author_matches_with_or_without_its_at_sign(
    mention_index: MentionIndex, query: str, expected: set[str]
) -> None:
    """Erasure and the GDPR export take '@jdupont' and 'jdupont' as one person: so does
    the query, whichever form the source gave."""
    corpus = [make_mention(id="at", author="@jdupont"), make_mention(id="bare", author="marie")]
    mention_index.upsert(corpus)
    node = parse_query(query)
    assert {m.id for m in corpus if matches(node, m)} == expected
    assert ids_matching(mention_index, node) == expected


@pytest.mark.parametrize("query", ["societe", "SOCIÉTÉ", "Société", "soci*", "SOCIÉ*"])
def test_search_ignores_case_and_accents(
    mention_index: MentionIndex, corpus: list[Mention], query: str
) -> None:
    assert ids_matching(mention_index, query) == {"velo"}


def test_unknown_filter_field_is_refused(mention_index: MentionIndex) -> None:
    with pytest.raises(ValueError, match="unknown field"):
        mention_index.count(MentionFilter(query=FieldFilter("colour", "red")))


# -- time windows, order, pages -----------------------------------------------------------
def test_time_window_since_inclusive_until_exclusive(mention_index: MentionIndex) -> None:
    times = [T0 - timedelta(microseconds=1), T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    mention_index.upsert([make_mention(id=f"t{i}", published_at=t) for i, t in enumerate(times)])
    until = T0 + timedelta(hours=2)
    assert ids_matching(mention_index, MatchAll(), since=T0, until=until) == {"t1", "t2"}
    assert ids_matching(mention_index, MatchAll(), since=T0) == {"t1", "t2", "t3"}
    assert ids_matching(mention_index, MatchAll(), until=T0) == {"t0"}
    assert mention_index.count(MentionFilter(since=until, until=T0)) == 0
    # A naive datetime is UTC.
    naive = T0.replace(tzinfo=None)
    assert mention_index.count(MentionFilter(since=naive)) == 3


def test_sorts_newest_and_oldest_first(mention_index: MentionIndex) -> None:
    shuffled = [3, 0, 4, 1, 2]
    mention_index.upsert(
        [make_mention(id=f"s{i}", published_at=T0 + timedelta(minutes=i)) for i in shuffled]
    )
    newest = mention_index.search(SearchRequest(sort=SortOrder.NEWEST, limit=10))
    oldest = mention_index.search(SearchRequest(sort=SortOrder.OLDEST, limit=10))
    assert [m.id for m in newest.mentions] == ["s4", "s3", "s2", "s1", "s0"]
    assert [m.id for m in oldest.mentions] == ["s0", "s1", "s2", "s3", "s4"]
    assert newest.total == oldest.total == 5
    assert newest.next_cursor is None


@pytest.mark.parametrize("sort", list(SortOrder))
def test_cursor_walk_returns_every_match_once(mention_index: MentionIndex, sort: SortOrder) -> None:
    # Many mentions share one second, and even one microsecond.
    mentions = [
        make_mention(
            id=f"c{i:03d}",
            published_at=T0 + timedelta(seconds=i // 40, microseconds=(i % 3) * 1000),
            brands=["Veloria"] if i % 4 else ["Acme"],
        )
        for i in range(230)
    ]
    mention_index.upsert(mentions[:100])
    mention_index.upsert(mentions[100:])
    flt = MentionFilter(query=FieldFilter("brand", "veloria"))
    expected = {m.id for m in mentions if "Veloria" in m.brands}

    first = mention_index.search(SearchRequest(filter=flt, sort=sort, limit=7))
    assert first.total == len(expected)
    found = walk(mention_index, flt, limit=7, sort=sort)
    assert len(found) == len(expected)
    assert {m.id for m in found} == expected
    times = [m.published_at for m in found]
    assert times == sorted(times, reverse=sort == SortOrder.NEWEST)


def test_total_counts_all_matches_on_every_page(mention_index: MentionIndex) -> None:
    mention_index.upsert([make_mention(id=f"p{i}") for i in range(5)])
    page = mention_index.search(SearchRequest(limit=2))
    assert page.next_cursor is not None
    second = mention_index.search(SearchRequest(limit=2, cursor=page.next_cursor))
    assert second.total == page.total == 5


@pytest.mark.parametrize("cursor", ["garbage", "", "AAAA", "%%%", "é"])
def test_invalid_cursor_is_refused(mention_index: MentionIndex, cursor: str) -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        mention_index.search(SearchRequest(cursor=cursor))


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1])
def test_limit_out_of_range_is_refused(mention_index: MentionIndex, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        mention_index.search(SearchRequest(limit=limit))


# -- aggregations ---------------------------------------------------------------------------
def test_count(mention_index: MentionIndex, corpus: list[Mention]) -> None:
    assert mention_index.count(MentionFilter()) == 4
    assert mention_index.count(MentionFilter(query=parse_query("lang:fr"))) == 2


def test_histogram_by_day_includes_empty_days_and_splits(mention_index: MentionIndex) -> None:
    def at(day: int, hour: int, label: str) -> Mention:
        return make_mention(
            published_at=T0.replace(hour=0) + timedelta(days=day, hours=hour),
            sentiment=_sentiment(label),
        )

    mention_index.upsert(
        [at(0, 1, "negative"), at(0, 23, "positive"), at(0, 5, "negative"), at(3, 0, "neutral")]
    )
    since = T0.replace(hour=0) - timedelta(days=1)
    until = T0.replace(hour=0) + timedelta(days=5)
    buckets = mention_index.histogram(
        MentionFilter(since=since, until=until), interval=Interval.DAY, split_by=Dimension.SENTIMENT
    )
    assert [b.start for b in buckets] == [since + timedelta(days=d) for d in range(6)]
    assert [b.count for b in buckets] == [0, 3, 0, 0, 1, 0]
    assert buckets[1].by == {"negative": 2, "positive": 1}
    assert buckets[4].by == {"neutral": 1}
    assert buckets[0].by == {}
    assert all(b.start.tzinfo is not None and b.start.utcoffset() == timedelta(0) for b in buckets)


def test_histogram_open_window_spans_first_to_last_match(mention_index: MentionIndex) -> None:
    mention_index.upsert(
        [
            make_mention(published_at=T0 + timedelta(minutes=10)),
            make_mention(published_at=T0 + timedelta(hours=3, minutes=59, seconds=59)),
        ]
    )
    buckets = mention_index.histogram(MentionFilter(), interval=Interval.HOUR)
    assert [(b.start, b.count) for b in buckets] == [
        (T0, 1),
        (T0 + timedelta(hours=1), 0),
        (T0 + timedelta(hours=2), 0),
        (T0 + timedelta(hours=3), 1),
    ]
    assert (
        mention_index.histogram(MentionFilter(query=Term("nothing")), interval=Interval.HOUR) == []
    )


def test_histogram_bucket_edges_are_exact(mention_index: MentionIndex) -> None:
    edge = T0.replace(hour=0) + timedelta(days=1)
    mention_index.upsert(
        [
            make_mention(id="before", published_at=edge - timedelta(microseconds=1)),
            make_mention(id="on", published_at=edge),
        ]
    )
    buckets = mention_index.histogram(MentionFilter(), interval=Interval.DAY)
    assert [(b.start, b.count) for b in buckets] == [(edge - timedelta(days=1), 1), (edge, 1)]


def test_histogram_weeks_start_on_monday(mention_index: MentionIndex) -> None:
    sunday = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    mention_index.upsert(
        [
            make_mention(published_at=datetime(2026, 3, 4, tzinfo=UTC)),  # Wednesday
            make_mention(published_at=sunday),
            make_mention(published_at=datetime(2026, 3, 9, 0, 30, tzinfo=UTC)),  # Monday
        ]
    )
    buckets = mention_index.histogram(
        MentionFilter(until=datetime(2026, 3, 20, tzinfo=UTC)), interval=Interval.WEEK
    )
    assert [(b.start, b.count) for b in buckets] == [
        (datetime(2026, 3, 2, tzinfo=UTC), 2),
        (datetime(2026, 3, 9, tzinfo=UTC), 1),
        (datetime(2026, 3, 16, tzinfo=UTC), 0),
    ]
    assert all(b.start.weekday() == 0 for b in buckets)


def test_histogram_refuses_too_many_buckets(mention_index: MentionIndex) -> None:
    with pytest.raises(ValueError, match="too many"):
        mention_index.histogram(
            MentionFilter(since=T0, until=T0 + timedelta(days=365 * 10)), interval=Interval.HOUR
        )


def test_terms_largest_first_ties_by_key(
    mention_index: MentionIndex, corpus: list[Mention]
) -> None:
    flt = MentionFilter()
    assert mention_index.terms(flt, dimension=Dimension.SOURCE) == [
        CountBucket("Le Monde", 2),
        CountBucket("Forum Vélo", 1),
        CountBucket("Hacker News", 1),
    ]
    assert mention_index.terms(flt, dimension=Dimension.SOURCE, size=2) == [
        CountBucket("Le Monde", 2),
        CountBucket("Forum Vélo", 1),
    ]
    assert mention_index.terms(flt, dimension=Dimension.BRAND) == [CountBucket("Veloria", 2)]
    assert mention_index.terms(flt, dimension=Dimension.COMPETITOR) == [CountBucket("Acme", 2)]
    assert mention_index.terms(flt, dimension=Dimension.SENTIMENT) == [
        CountBucket("negative", 2),
        CountBucket("positive", 1),
    ]
    assert mention_index.terms(flt, dimension=Dimension.LANGUAGE) == [
        CountBucket("fr", 2),
        CountBucket("en", 1),
    ]
    assert mention_index.terms(flt, dimension=Dimension.TOPIC) == [
        CountBucket("delivery", 2),
        CountBucket("price", 1),
    ]
    only_fr = MentionFilter(query=parse_query("lang:fr"))
    assert mention_index.terms(only_fr, dimension=Dimension.COMPETITOR) == [CountBucket("Acme", 1)]


def test_top_terms_skips_stop_words(mention_index: MentionIndex) -> None:
    mention_index.upsert(
        [
            make_mention(title="Le vélo de Veloria", text="Le vélo est en retard, et le prix"),
            make_mention(title="", text="The delivery of the vélo is late"),
            make_mention(title="", text="Le prix du vélo"),
        ]
    )
    top = mention_index.top_terms(MentionFilter(), size=3)
    assert top == [CountBucket("vélo", 3), CountBucket("prix", 2), CountBucket("delivery", 1)]
    words = {b.key for b in mention_index.top_terms(MentionFilter(), size=50)}
    assert words.isdisjoint({"le", "de", "the", "of", "is", "est", "en", "et", "du"})
    assert {"retard", "late", "veloria"} <= words


def test_top_terms_keep_accents_and_leave_out_names_and_numbers(
    mention_index: MentionIndex,
) -> None:
    mention_index.upsert(
        [
            make_mention(text="Je suis déçu par Veloria : dix jours d'attente, j'ai 2 vélos"),
            make_mention(text="Très DÉÇU de la livraison Veloria, aujourd'hui encore"),
            make_mention(text="I'm so disappointed, ten days late. Veloria's support?"),
        ]
    )
    counted = {
        b.key: b.count
        for b in mention_index.top_terms(MentionFilter(), size=50, exclude={"veloria"})
    }
    assert counted["déçu"] == 2
    assert counted["attente"] == 1 and counted["livraison"] == 1 and counted["late"] == 1
    left_out = {"je", "j", "ai", "dix", "ten", "2", "veloria", "veloria's", "decu", "aujourd'hui"}
    assert left_out.isdisjoint(counted)
    assert "veloria" in {b.key for b in mention_index.top_terms(MentionFilter(), size=50)}
    only_one = MentionFilter(query=parse_query("disappointed"))
    assert [b.key for b in mention_index.top_terms(only_one, size=2, exclude={"veloria"})] == [
        "days",
        "disappointed",
    ]


def test_top_terms_count_the_newest_matches_when_many_match(
    mention_index: MentionIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.store.elastic.index as elastic_index
    import services.store.embedded.index as embedded_index

    for module in (embedded_index, elastic_index):
        monkeypatch.setattr(module, "TOP_TERMS_SAMPLE", 3)
    mention_index.upsert(
        [make_mention(text="ancien modèle", published_at=T0 + timedelta(hours=i)) for i in range(5)]
        + [
            make_mention(text="nouveau modèle", published_at=T0 + timedelta(days=1, hours=i))
            for i in range(3)
        ]
    )
    counted = {b.key: b.count for b in mention_index.top_terms(MentionFilter(), size=10)}
    assert counted == {"nouveau": 3, "modèle": 3}
    old = MentionFilter(query=parse_query("ancien"))
    assert mention_index.top_terms(old, size=1) == [CountBucket("ancien", 3)]


# -- authors and communities ----------------------------------------------------------
def _author(name: str | None, followers: int | None, **fields: object) -> Mention:
    details = AuthorDetails(followers=followers) if followers is not None else None
    return make_mention(author=name, author_details=details, **fields)


def test_author_and_community_dimensions(mention_index: MentionIndex) -> None:
    mention_index.upsert(
        [
            _author("Zoé", 120, url="https://www.reddit.com/r/Velo/comments/a1/x/"),
            _author("Zoé", 150, url="https://www.reddit.com/r/velo/comments/a2/y/"),
            _author("bob", None, url="https://forum.velo.fr/t/42", source_kind="web"),
            _author(None, None, url="https://mastodon.social/@x/1", source_kind="mastodon"),
        ]
    )
    flt = MentionFilter()
    assert mention_index.terms(flt, dimension=Dimension.AUTHOR) == [
        CountBucket("Zoé", 2),
        CountBucket("bob", 1),
    ]
    assert mention_index.terms(flt, dimension=Dimension.COMMUNITY) == [
        CountBucket("r/velo", 2),
        CountBucket("forum.velo.fr", 1),
    ]
    assert ids_matching(mention_index, 'community:"r/velo" author:zoe') == {
        m.id for m in walk(mention_index, MentionFilter(query=parse_query("author:zoé")), limit=10)
    }


def test_audience_ranks_authors_by_followers_where_given(mention_index: MentionIndex) -> None:
    mention_index.upsert(
        [
            _author("Zoé", 120),
            _author("Zoé", 150),
            _author("bob", None),
            _author("bob", None),
            _author("bob", None),
            _author("ana", 9000),
        ]
    )
    flt = MentionFilter()
    by_reach = mention_index.audience(flt, dimension=Dimension.AUTHOR, size=10, by_followers=True)
    assert by_reach == [
        AudienceBucket("ana", 1, 9000),
        AudienceBucket("Zoé", 2, 150),
        AudienceBucket("bob", 3, None),  # the platform gives no count: never invented
    ]
    by_count = mention_index.audience(flt, dimension=Dimension.AUTHOR, size=2, by_followers=False)
    assert by_count == [AudienceBucket("bob", 3, None), AudienceBucket("Zoé", 2, 150)]


def test_reach_sums_followers_where_given(mention_index: MentionIndex) -> None:
    assert mention_index.reach(MentionFilter()) == Reach(mentions=0, counted=0, followers=None)
    mention_index.upsert([_author("Zoé", 120), _author("bob", None), _author("ana", 30)])
    assert mention_index.reach(MentionFilter()) == Reach(mentions=3, counted=2, followers=150)
    bob = MentionFilter(query=parse_query("author:bob"))
    assert mention_index.reach(bob) == Reach(mentions=1, counted=0, followers=None)


def test_iter_all_yields_every_match(mention_index: MentionIndex) -> None:
    mentions = [make_mention(id=f"i{i:02d}", brands=["A"] if i % 2 else ["B"]) for i in range(25)]
    mention_index.upsert(mentions)
    flt = MentionFilter(query=FieldFilter("brand", "a"))
    got = list(mention_index.iter_all(flt, batch_size=4))
    assert sorted(m.id for m in got) == sorted(m.id for m in mentions if m.brands == ["A"])
    assert len(list(mention_index.iter_all(MentionFilter(), batch_size=1))) == 25
    with pytest.raises(ValueError):
        mention_index.iter_all(flt, batch_size=0)


def test_iter_json_yields_the_mentions_of_iter_all(mention_index: MentionIndex) -> None:
    """In the same order (oldest first), over pages that grow from `batch_size`."""
    mentions = [
        make_mention(id=f"j{i:03d}", published_at=BASE_TIME - timedelta(minutes=(i * 7) % 120))
        for i in range(120)
    ]
    mention_index.upsert(mentions)
    flt = MentionFilter(since=BASE_TIME - timedelta(days=1))
    models = list(mention_index.iter_all(flt, batch_size=1))
    stored = [Mention.model_validate_json(j) for j in mention_index.iter_json(flt, batch_size=1)]
    assert [m.id for m in stored] == [m.id for m in models]
    assert len(stored) == 120 and stored == models
    assert [m.published_at for m in stored] == sorted(m.published_at for m in mentions)
    # A CSV export reads the JSON without the model: the same cells, triage included
    # (written by `set_triage`, a partial update on Elasticsearch).
    mention_index.set_triage(
        {
            "j001": Triage(state=TriageState.ANSWERED, assignee="=Ana", tags=["legal", "vip"]),
            "j002": Triage(state=TriageState.IN_PROGRESS),
        }
    )
    models = list(mention_index.iter_all(flt, batch_size=7))
    columns = MentionColumns(["Veloria", "Trekko"])
    rows = [columns.stored_text_row(j) for j in mention_index.iter_json(flt)]
    assert rows == [columns.text_row(m) for m in models]
    at = {name: columns.header.index(name) for name in ("triage_state", "assignee", "tags", "id")}
    triaged = {r[at["id"]]: (r[at["triage_state"]], r[at["assignee"]], r[at["tags"]]) for r in rows}
    assert triaged["j001"] == ("answered", "'=Ana", "legal; vip")
    assert triaged["j002"] == ("in_progress", "", "")
    assert triaged["j003"] == ("new", "", "")


def test_day_digests_tell_the_same_ids_from_as_many_others(mention_index: MentionIndex) -> None:
    """Per UTC day, a count and a digest of the ids: equal to what the base reading
    (every mention's JSON) gives, and changed by a swap that keeps the count."""
    day = datetime(2026, 3, 2, tzinfo=UTC)
    mentions = [
        # 23:30 and 00:30 UTC fall on two days, whatever the offset they were written with.
        make_mention(id="d1", published_at=day + timedelta(hours=23, minutes=30)),
        make_mention(id="d2", published_at=day + timedelta(hours=24, minutes=30)),
        make_mention(
            id="d3",
            published_at=(day + timedelta(hours=10)).astimezone(timezone(timedelta(hours=-5))),
        ),
        make_mention(id="d4", published_at=day + timedelta(days=2)),
    ]
    mention_index.upsert(mentions)
    digests = mention_index.day_digests(MentionFilter())
    assert digests == MentionIndex.day_digests(mention_index, MentionFilter())  # the base way
    assert {d: x.count for d, x in digests.items()} == {
        date(2026, 3, 2): 2,
        date(2026, 3, 3): 1,
        date(2026, 3, 4): 1,
    }
    assert (
        digests[date(2026, 3, 3)]
        == fold_dated([(mentions[1].published_at, "d2")])[date(2026, 3, 3)]
    )
    # One mention gone, another in its place on the same day: same count, other digest.
    mention_index.delete(["d3"])
    mention_index.upsert([make_mention(id="d5", published_at=day + timedelta(hours=9))])
    swapped = mention_index.day_digests(MentionFilter())
    assert swapped[date(2026, 3, 2)].count == 2
    assert swapped[date(2026, 3, 2)] != digests[date(2026, 3, 2)]
    assert swapped[date(2026, 3, 3)] == digests[date(2026, 3, 3)]
    assert mention_index.day_digests(MentionFilter(since=day + timedelta(days=1))).keys() == {
        date(2026, 3, 3),
        date(2026, 3, 4),
    }


# -- lifetime ---------------------------------------------------------------------------------
def test_data_persists_across_close_and_reopen(backend: BackendCase) -> None:
    index = backend.open()
    index.upsert([make_mention(id="kept", text="persistent words")])
    index.close()
    reopened = backend.open()
    try:
        assert reopened.get("kept") is not None
        assert ids_matching(reopened, "persistent") == {"kept"}
    finally:
        reopened.close()


def test_second_handle_reads_while_first_writes(backend: BackendCase) -> None:
    writer, reader = backend.open(), backend.open()
    try:
        writer.upsert([make_mention(id="w0")])
        assert reader.get("w0") is not None  # visible as soon as upsert returns
        stop = threading.Event()
        seen: list[int] = []
        errors: list[BaseException] = []

        def read() -> None:
            while not stop.is_set():
                try:
                    seen.append(reader.count(MentionFilter()))
                except BaseException as error:  # reported below
                    errors.append(error)
                    return

        thread = threading.Thread(target=read)
        thread.start()
        try:
            for batch in range(5):
                writer.upsert([make_mention(id=f"w{batch}-{i}") for i in range(50)])
        finally:
            stop.set()
            thread.join()
        assert not errors
        assert seen == sorted(seen)  # never goes back
        assert reader.count(MentionFilter()) == 251
    finally:
        writer.close()
        reader.close()


def test_threads_share_one_handle(mention_index: MentionIndex) -> None:
    # An API thread pool searching while an analyzer thread and imports write.
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for batch in range(3):
                mention_index.upsert(
                    [make_mention(id=f"t{worker}-{batch}-{i}", text="shared") for i in range(20)]
                )
        except BaseException as error:  # reported below
            errors.append(error)

    def read() -> None:
        try:
            for _ in range(30):
                page = mention_index.search(
                    SearchRequest(filter=MentionFilter(query=Term("shared")))
                )
                assert page.total >= len(page.mentions)
                mention_index.histogram(MentionFilter(), interval=Interval.HOUR)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert mention_index.count(MentionFilter(query=Term("shared"))) == 3 * 3 * 20


@pytest.fixture
def stories(mention_index: MentionIndex) -> list[Mention]:
    """Two stories: an article and two syndicated copies, a post and one retweet; a loner."""
    day = T0 + timedelta(hours=1)
    mentions = [
        make_mention(id="a1", story_id="a1", published_at=day, topics=["price"]),
        make_mention(id="a2", story_id="a1", published_at=day + timedelta(hours=1)),
        make_mention(id="a3", story_id="a1", published_at=day + timedelta(days=1)),
        make_mention(id="p1", story_id="p1", published_at=day, topics=["price"]),
        make_mention(id="p2", story_id="p1", published_at=day + timedelta(days=1)),
        make_mention(id="solo", story_id=None, published_at=day),
    ]
    mention_index.upsert(mentions)
    return mentions


def test_story_and_duplicate_filters(mention_index: MentionIndex, stories: list[Mention]) -> None:
    assert ids_matching(mention_index, "story:a1") == {"a1", "a2", "a3"}
    assert ids_matching(mention_index, "is:duplicate") == {"a2", "a3", "p2"}
    assert ids_matching(mention_index, "is:original") == {"a1", "p1", "solo"}
    assert ids_matching(mention_index, "-is:duplicate topic:price") == {"a1", "p1"}
    for query in ("story:a1", "is:duplicate", "is:original"):
        assert ids_matching(mention_index, query) == {
            m.id for m in stories if matches(parse_query(query), m)
        }


def test_stories_counted_by_size_and_once_each(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    assert mention_index.terms(MentionFilter(), dimension=Dimension.STORY) == [
        CountBucket("a1", 3),
        CountBucket("p1", 2),
    ]
    dedup = MentionFilter(query=Not(FieldFilter("is", "duplicate")))
    assert mention_index.count(MentionFilter()) == 6
    assert mention_index.count(dedup) == 3
    days = mention_index.histogram(dedup, interval=Interval.DAY)
    assert [b.count for b in days] == [3]
    raw_days = mention_index.histogram(MentionFilter(), interval=Interval.DAY)
    assert [b.count for b in raw_days] == [4, 2]


def test_a_filter_on_stories_keeps_only_their_mentions(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    a1, solo = story_hash("a1"), story_hash("solo")  # a mention without copies: its id
    only = MentionFilter(stories=frozenset({a1, solo}))
    assert {m.id for m in walk(mention_index, only, limit=2)} == {"a1", "a2", "a3", "solo"}
    assert mention_index.count(only) == 4
    later = MentionFilter(copies=StoryCopies.LATER, stories=frozenset({a1}))
    assert mention_index.count(later) == 2
    price = MentionFilter(query=parse_query("topic:price"), stories=frozenset({a1}))
    assert mention_index.story_hashes(price) == {a1}
    assert mention_index.count(MentionFilter(stories=frozenset())) == 0
    assert mention_index.count(MentionFilter(stories=frozenset({story_hash("none")}))) == 0


def test_story_starts_are_the_earliest_matching_copies(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    def at(mention_id: str) -> int:
        return epoch_us(next(m for m in stories if m.id == mention_id).published_at)

    a1, p1, solo = story_hash("a1"), story_hash("p1"), story_hash("solo")
    assert mention_index.story_starts(MentionFilter()) == {
        a1: at("a1"),
        p1: at("p1"),
        solo: at("solo"),
    }
    later = MentionFilter(copies=StoryCopies.LATER)
    assert mention_index.story_starts(later) == {a1: at("a2"), p1: at("p2")}
    assert mention_index.story_starts(MentionFilter(since=T0 + timedelta(days=1))) == {
        a1: at("a3"),
        p1: at("p2"),
    }
    assert mention_index.story_starts(MentionFilter(query=parse_query("zzz"))) == {}
    assert mention_index.story_hashes(later) == {a1, p1}


def test_a_filter_on_many_stories_is_exact(mention_index: MentionIndex) -> None:
    # More stories than one Elasticsearch `terms` query takes (index.max_terms_count).
    mentions = [
        make_mention(id=f"m{i}", story_id=f"s{i % 7}", published_at=T0 + timedelta(minutes=i))
        for i in range(21)
    ]
    mention_index.upsert(mentions)
    wanted = {story_hash(f"s{i}") for i in (1, 4)}
    many = frozenset(wanted | set(range(-80_000, 0)))  # and 80,000 stories nobody wrote
    assert mention_index.count(MentionFilter(stories=many)) == 6
    assert set(mention_index.story_starts(MentionFilter(stories=many))) == wanted


def test_delete_matching_keeps_story_copies_exact(
    mention_index: MentionIndex, stories: list[Mention]
) -> None:
    everything = MentionFilter(since=T0 - timedelta(days=1), copies=StoryCopies.FIRST)
    assert mention_index.count(everything) == 3  # a1, p1, solo
    first_day = stories[0].published_at
    removed = mention_index.delete_matching(MentionFilter(until=first_day + timedelta(hours=2)))
    assert removed == 4  # a1, a2, p1, solo
    # a3 and p2 are now the first copies of their stories.
    assert mention_index.count(everything) == 2
    assert {m.id for m in walk(mention_index, everything, limit=10)} == {"a3", "p2"}
