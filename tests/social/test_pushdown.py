"""Query pushdown per platform and the local filter that makes results exact."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.collector.social.bluesky import BlueskyConnector
from services.collector.social.hackernews import HackerNewsConnector
from services.collector.social.mastodon import MastodonConnector
from services.collector.social.query_pushdown import local_filter, push_down
from services.collector.social.reddit import RedditConnector
from services.collector.social.x import XConnector
from services.collector.social.youtube import YouTubeConnector
from services.core.models import RawItem
from services.core.query import parse_query

CASES = [
    # query, hackernews, reddit, x, youtube, bluesky, mastodon
    ("veloria", "veloria", "veloria", "veloria", "veloria", "veloria", "veloria"),
    (
        '"veloria bikes" brakes',
        "veloria bikes brakes",
        '"veloria bikes" brakes',
        '"veloria bikes" brakes',
        '"veloria bikes" brakes',
        '"veloria bikes" brakes',
        '"veloria bikes" brakes',
    ),
    ("veloria OR trekko", "", "veloria OR trekko", "veloria OR trekko", "veloria | trekko", "", ""),
    ("veloria -street", "veloria", "veloria", "veloria", "veloria", "veloria", "veloria"),
    (
        "veloria author:jean lang:fr",
        "veloria",
        "veloria author:jean",
        "veloria from:jean lang:fr",
        "veloria",
        "veloria from:jean lang:fr",
        "veloria from:jean language:fr",
    ),
    ("velo* brand:veloria", "", "", "", "", "", ""),
    (
        "veloria NEAR/3 (brakes OR gears)",
        "veloria",
        "veloria (brakes OR gears)",
        "veloria (brakes OR gears)",
        "veloria (brakes | gears)",
        "veloria",
        "veloria",
    ),
]


@pytest.mark.parametrize(("query", "hn", "reddit", "x", "youtube", "bluesky", "mastodon"), CASES)
def test_each_platform_gets_what_it_can_express(
    query: str, hn: str, reddit: str, x: str, youtube: str, bluesky: str, mastodon: str
) -> None:
    node = parse_query(query)
    assert push_down(node, HackerNewsConnector.pushdown) == hn
    assert push_down(node, RedditConnector.pushdown) == reddit
    assert push_down(node, XConnector.pushdown) == x
    assert push_down(node, YouTubeConnector.pushdown) == youtube
    assert push_down(node, BlueskyConnector.pushdown) == bluesky
    assert push_down(node, MastodonConnector.pushdown) == mastodon


def item(text: str, *, language: str | None = None, author: str | None = None) -> RawItem:
    return RawItem(
        source_kind="x",
        source_name="social",
        platform_id=str(abs(hash(text))),
        text=text,
        language=language,
        author=author,
    )


def test_the_local_filter_applies_what_was_not_pushed() -> None:
    keep = local_filter(parse_query('veloria -"veloria street" author:jean'))
    assert keep(item("I love my Veloria", author="Jean"))
    assert not keep(item("I live on Veloria Street", author="jean"))
    assert not keep(item("I love my Veloria", author="paul"))
    assert not keep(item("nothing here", author="jean"))


def test_filters_only_analysis_decides_keep_a_superset() -> None:
    # brand:, sentiment: and an undeclared lang: cannot be decided before analysis.
    keep = local_filter(parse_query("veloria brand:veloria -sentiment:negative lang:fr"))
    assert keep(item("veloria"))  # no language declared: kept for the analyzer
    assert keep(item("veloria", language="fr"))
    assert not keep(item("veloria", language="en"))  # declared: decided here
    assert not keep(item("trekko", language="fr"))


words = st.lists(st.sampled_from(["veloria", "trekko", "brakes", "gears", "street"]), min_size=1)


@given(
    query_words=words,
    text_words=st.lists(st.sampled_from(["veloria", "trekko", "brakes", "x"]), max_size=6),
    operator=st.sampled_from([" ", " OR ", " AND NOT ", " NEAR/2 "]),
)
def test_pushdown_never_loses_a_match(
    query_words: list[str], text_words: list[str], operator: str
) -> None:
    """Whatever matches the query also matches the pushed query (evaluated locally)."""
    assume(operator != " NEAR/2 " or len(query_words) == 2)  # NEAR takes two operands
    node = parse_query(operator.join(query_words))
    mention = item(" ".join(text_words))
    if not local_filter(node)(mention):
        return
    for connector in (HackerNewsConnector, RedditConnector, XConnector, BlueskyConnector):
        pushed = push_down(node, connector.pushdown).replace(" | ", " OR ")
        assert local_filter(parse_query(pushed))(mention), (connector.kind, pushed)
